// The citation parser on hand-written model outputs, fed whole, one byte at a time and in token-sized
// pieces: the result must not depend on where the stream was cut.

#include "app/answers/answer_stream.h"
#include "app/answers/citation_parser.h"
#include "tests/kernels/check.h"

#include <QString>

#include <cstdio>
#include <string>
#include <vector>

using lectern::answers::AnswerPiece;
using lectern::answers::AnswerStream;
using lectern::answers::CitationParser;

namespace {

struct Expected {
    bool citation = false;
    QString text; // text, or the quote of a citation
    int marker = 0;
    bool unterminated = false;
};

Expected text(const char* t) {
    return {false, QString::fromUtf8(t), 0, false};
}
Expected cite(int marker, const char* quote, bool unterminated = false) {
    return {true, QString::fromUtf8(quote), marker, unterminated};
}

// Adjacent text pieces merged: how the stream was cut decides where text pieces split, nothing else.
std::vector<AnswerPiece> normalise(const std::vector<AnswerPiece>& pieces) {
    std::vector<AnswerPiece> merged;
    for (const AnswerPiece& piece : pieces) {
        if (piece.kind == AnswerPiece::Kind::Text && !merged.empty() &&
            merged.back().kind == AnswerPiece::Kind::Text)
            merged.back().text += piece.text;
        else
            merged.push_back(piece);
    }
    return merged;
}

std::vector<AnswerPiece> parseInChunks(const std::string& utf8, std::size_t chunk) {
    CitationParser parser;
    std::vector<AnswerPiece> all;
    for (std::size_t i = 0; i < utf8.size(); i += chunk) {
        const auto pieces = parser.feed(std::string_view(utf8).substr(i, chunk));
        all.insert(all.end(), pieces.begin(), pieces.end());
    }
    const auto rest = parser.finish();
    all.insert(all.end(), rest.begin(), rest.end());
    // The answer text is exactly the text pieces, so citation offsets point into it.
    QString joined;
    for (const AnswerPiece& piece : all)
        if (piece.kind == AnswerPiece::Kind::Text) joined += piece.text;
    CHECK(joined == parser.answerText());
    return normalise(all);
}

bool matches(const std::vector<AnswerPiece>& got, const std::vector<Expected>& expected) {
    if (got.size() != expected.size()) return false;
    for (std::size_t i = 0; i < got.size(); ++i) {
        const bool is_citation = got[i].kind == AnswerPiece::Kind::Citation;
        if (is_citation != expected[i].citation) return false;
        if (!is_citation && got[i].text != expected[i].text) return false;
        if (is_citation &&
            (got[i].citation.marker != expected[i].marker || got[i].citation.quote != expected[i].text ||
             got[i].citation.unterminated != expected[i].unterminated))
            return false;
    }
    return true;
}

void describe(const std::vector<AnswerPiece>& pieces) {
    for (const AnswerPiece& piece : pieces) {
        if (piece.kind == AnswerPiece::Kind::Text)
            std::fprintf(stderr, "    text  [%s]\n", qPrintable(piece.text));
        else
            std::fprintf(stderr, "    cite  P%d [%s]%s\n", piece.citation.marker,
                         qPrintable(piece.citation.quote),
                         piece.citation.unterminated ? " unterminated" : "");
    }
}

void expectParse(const char* name, const std::string& utf8, const std::vector<Expected>& expected) {
    // Whole, per byte (splits UTF-8 characters and markers), and token-like 3- and 5-byte pieces.
    for (const std::size_t chunk : {utf8.size() + 1, std::size_t(1), std::size_t(3), std::size_t(5)}) {
        const auto got = parseInChunks(utf8, chunk);
        if (!CHECK(matches(got, expected))) {
            std::fprintf(stderr, "  case '%s', chunk %zu; got:\n", name, chunk);
            describe(got);
        }
    }
}

void testCases() {
    expectParse("no citations", "Plain answer, no sources.", {text("Plain answer, no sources.")});
    expectParse("one citation", "Revenue grew [P3: \"grew by 12%\"] in 2023.",
                {text("Revenue grew "), cite(3, "grew by 12%"), text(" in 2023.")});
    expectParse("several items", "Both [P3: \"alpha beta\"; P17: \"gamma\"].",
                {text("Both "), cite(3, "alpha beta"), cite(17, "gamma"), text(".")});
    expectParse("bare markers", "See [P12] and [P3, P4].",
                {text("See "), cite(12, ""), text(" and "), cite(3, ""), cite(4, ""), text(".")});
    expectParse("lenient forms", "x [p5 “smart quotes, é”] y [P6:\"tight\"] z [P7, \"comma\"]",
                {text("x "), cite(5, "smart quotes, é"), text(" y "), cite(6, "tight"), text(" z "),
                 cite(7, "comma")});
    expectParse("unquoted quote", "It [P2: the words here] ends.",
                {text("It "), cite(2, "the words here"), text(" ends.")});
    expectParse("not citations", "a[i] = b[1]; [see above] [P] [Pa] [P 3] [ P4x]",
                {text("a[i] = b[1]; [see above] [P] [Pa] [P 3] [ P4x]")});
    expectParse("nested brackets", "[[P3: \"x y\"]] and [P1 [P2: \"z\"]",
                {text("["), cite(3, "x y"), text("] and [P1 "), cite(2, "z")});
    expectParse("brackets and quotes inside a quote", "[P4: \"the value [sic] was \"low\", he said\"]!",
                {cite(4, "the value [sic] was \"low\", he said"), text("!")});
    expectParse("unterminated quote at end", "See [P9: \"the last words",
                {text("See "), cite(9, "the last words", true)});
    expectParse("unterminated after closing quote", "See [P9: \"the last words\"",
                {text("See "), cite(9, "the last words", true)});
    expectParse("marker at end", "See [P9", {text("See "), cite(9, "", true)});
    expectParse("bracket at end", "See [P", {text("See [P")});
    expectParse("quote runs into a blank line", "A [P2: \"abc\n\nNext paragraph [P3].",
                {text("A "), cite(2, "abc", true), text("\n\nNext paragraph "), cite(3, ""), text(".")});
    expectParse("too many digits", "[P1234567890] [P123456789]",
                {text("[P1234567890] "), cite(123456789, "")});
    expectParse("newline outside a quote", "[P3\n: \"x\"]", {text("[P3\n: \"x\"]")});
}

void testRunawayQuote() {
    const std::string quote(CitationParser::kMaxQuoteLength + 50, 'w');
    const auto got = parseInChunks("A [P2: \"" + quote + " tail", 7);
    CHECK(got.size() == 3);
    if (got.size() != 3) return;
    CHECK(got[0].kind == AnswerPiece::Kind::Text && got[0].text == "A ");
    CHECK(got[1].kind == AnswerPiece::Kind::Citation && got[1].citation.unterminated);
    CHECK(got[1].citation.quote.size() == CitationParser::kMaxQuoteLength + 1);
    CHECK(got[2].kind == AnswerPiece::Kind::Text && got[2].text.endsWith(" tail"));
}

void testNumbersAndOffsets() {
    CitationParser parser;
    std::vector<AnswerPiece> all = parser.feed(std::string_view("One [P1: \"a\"]. Two [P2], [P5; P6]."));
    const auto rest = parser.finish();
    all.insert(all.end(), rest.begin(), rest.end());
    std::vector<int> numbers, offsets;
    for (const AnswerPiece& piece : all) {
        if (piece.kind != AnswerPiece::Kind::Citation) continue;
        numbers.push_back(piece.citation.number);
        offsets.push_back(int(piece.citation.answer_offset));
    }
    CHECK((numbers == std::vector<int>{1, 2, 3, 4}));
    CHECK(parser.answerText() == "One . Two , .");
    CHECK((offsets == std::vector<int>{4, 10, 12, 12}));
    CHECK(parser.citationCount() == 4);
    for (const AnswerPiece& piece : all)
        if (piece.kind == AnswerPiece::Kind::Citation && piece.citation.marker == 5)
            CHECK(piece.citation.raw == "[P5; P6]");
}

// Thinking first (V4 in thinking mode), split anywhere, then the answer through the citation parser.
void testAnswerStream() {
    const std::string output = "Check P1 and P2 </thi</think>\n\nThe board met [P1: \"on 3 May\"].";
    for (const std::size_t chunk : {std::size_t(1), std::size_t(4), output.size()}) {
        AnswerStream stream(true);
        std::vector<AnswerPiece> pieces;
        for (std::size_t i = 0; i < output.size(); i += chunk) {
            auto got = stream.feed(std::string_view(output).substr(i, chunk));
            pieces.insert(pieces.end(), got.begin(), got.end());
        }
        auto rest = stream.finish();
        pieces.insert(pieces.end(), rest.begin(), rest.end());
        QString thinking;
        int citations = 0;
        for (const AnswerPiece& piece : pieces) {
            if (piece.kind == AnswerPiece::Kind::Thinking) thinking += piece.text;
            if (piece.kind == AnswerPiece::Kind::Citation) citations += piece.citation.marker == 1 ? 1 : 100;
        }
        CHECK(thinking == "Check P1 and P2 </thi" && stream.thinkingText() == thinking);
        CHECK(stream.answerText() == "The board met ." && citations == 1 && !stream.inThinking());
    }
    // A stream that ends while thinking keeps all of it as thinking; without thinking mode the tag is text.
    AnswerStream unfinished(true);
    auto pieces = unfinished.feed(std::string_view("still thinking </thi"));
    CHECK(unfinished.finish().size() == 1 && unfinished.thinkingText() == "still thinking </thi");
    CHECK(unfinished.answerText().isEmpty() && unfinished.inThinking());
    AnswerStream chat(false);
    pieces = chat.feed(std::string_view("  a </think> b"));
    CHECK(chat.answerText() == "a </think> b" && chat.thinkingText().isEmpty());
}

} // namespace

int main() {
    testCases();
    testRunawayQuote();
    testNumbersAndOffsets();
    testAnswerStream();
    return lectern::test::finish("answers_citation_parser");
}
