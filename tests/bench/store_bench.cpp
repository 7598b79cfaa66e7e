// Store benchmark: passage insert rate, and search latency (p50/p99) for 1-, 2- and 3-word queries and for
// CJK (trigram) queries, over a synthetic multilingual corpus (default 1,000,000 passages).
//
//   store_bench [PASSAGES] [DIRECTORY]
//
// Rates are given per wall-clock second and per CPU second of this process: on a shared, loaded machine
// the CPU figure is the one that carries over. Baselines in the same run: inserting the same passages into a
// plain table without full-text indexes (what the indexes cost), and a primary-key lookup of one passage (the
// floor of any query).

#include "app/store/store.h"

#include <QCoreApplication>
#include <QElapsedTimer>
#include <QRandomGenerator>
#include <QTemporaryDir>

#include <algorithm>
#include <cstdio>
#include <ctime>

using namespace lectern;
using namespace lectern::store;

namespace {

constexpr int kPassagesPerDocument = 1000;
constexpr int kWordsPerPassage = 60;

// A vocabulary per script, drawn with a Zipf-like skew so that some words are common and most are rare.
struct Vocabulary {
    QStringList latin;
    QStringList cyrillic;
    QStringList cjk; // two-to-four-character words
};

Vocabulary makeVocabulary(QRandomGenerator& random) {
    static const QStringList latinSyllables = {
        QStringLiteral("ka"),  QStringLiteral("ré"), QStringLiteral("mo"),    QStringLiteral("sü"),
        QStringLiteral("ten"), QStringLiteral("lo"), QStringLiteral("vi"),    QStringLiteral("ça"),
        QStringLiteral("dor"), QStringLiteral("pe"), QStringLiteral("ström"), QStringLiteral("na"),
        QStringLiteral("gu"),  QStringLiteral("fé"), QStringLiteral("ri"),    QStringLiteral("tal"),
        QStringLiteral("ber"), QStringLiteral("ño"), QStringLiteral("si"),    QStringLiteral("xa")};
    static const QStringList cyrillicSyllables = {
        QStringLiteral("ка"),  QStringLiteral("ро"), QStringLiteral("мир"), QStringLiteral("на"),
        QStringLiteral("сло"), QStringLiteral("во"), QStringLiteral("тен"), QStringLiteral("ли"),
        QStringLiteral("да"),  QStringLiteral("жи"), QStringLiteral("пу"),  QStringLiteral("зе")};
    Vocabulary vocabulary;
    const auto word = [&](const QStringList& syllables) {
        QString w;
        const int count = 2 + random.bounded(3);
        for (int i = 0; i < count; ++i) w += syllables[random.bounded(syllables.size())];
        return w;
    };
    for (int i = 0; i < 40000; ++i) vocabulary.latin << word(latinSyllables);
    for (int i = 0; i < 10000; ++i) vocabulary.cyrillic << word(cyrillicSyllables);
    for (int i = 0; i < 10000; ++i) {
        QString w;
        const int count = 2 + random.bounded(3);
        for (int c = 0; c < count; ++c) w += QChar(0x4E00 + random.bounded(3000));
        vocabulary.cjk << w;
    }
    return vocabulary;
}

// Zipf-ish: index = n * u^3 concentrates draws on the first words.
const QString& pick(const QStringList& words, QRandomGenerator& random) {
    const double u = random.generateDouble();
    return words[std::min<qsizetype>(words.size() - 1, static_cast<qsizetype>(words.size() * u * u * u))];
}

QString passageText(const Vocabulary& vocabulary, QRandomGenerator& random) {
    const int kind = random.bounded(20);
    QString text;
    if (kind < 3) { // Chinese-like: no spaces
        for (int i = 0; i < kWordsPerPassage; ++i) text += pick(vocabulary.cjk, random);
        return text + QStringLiteral("。");
    }
    const QStringList& words = kind < 6 ? vocabulary.cyrillic : vocabulary.latin;
    for (int i = 0; i < kWordsPerPassage; ++i) {
        if (i) text += u' ';
        text += pick(words, random);
    }
    return text + u'.';
}

importers::Document makeDocument(int n, const Vocabulary& vocabulary, QRandomGenerator& random,
                                 int passages) {
    importers::Document document;
    document.path = QStringLiteral("/bench/doc%1.txt").arg(n);
    document.contentHash = QStringLiteral("%1").arg(n, 32, 16, QLatin1Char('0'));
    document.format = QStringLiteral("text");
    importers::Page page;
    page.number = 1;
    for (int i = 0; i < passages; ++i) {
        importers::Passage passage;
        passage.ordinal = i;
        passage.id = document.contentHash.left(16) + u':' + QString::number(i);
        passage.text = passageText(vocabulary, random);
        passage.range = {page.text.size(), page.text.size() + passage.text.size()};
        passage.tokens = static_cast<int>(passage.text.size() / 4);
        page.text += passage.text + u'\n';
        document.passages.push_back(std::move(passage));
    }
    document.pages.push_back(std::move(page));
    return document;
}

struct Latency {
    double p50 = 0;
    double p99 = 0;
    double hitsPerQuery = 0;
    double cpuMean = 0; // CPU milliseconds per query
};

Latency measure(Store& store, qint64 session, const QStringList& queries) {
    std::vector<double> ms;
    qint64 hits = 0;
    const std::clock_t cpuStart = std::clock();
    for (const QString& text : queries) {
        QElapsedTimer timer;
        timer.start();
        const auto results = store.search({session, {}, {}, text});
        ms.push_back(timer.nsecsElapsed() / 1e6);
        if (!results) {
            std::fprintf(stderr, "search failed: %s\n", results.error().c_str());
            std::exit(1);
        }
        hits += results->hits.size();
    }
    const double cpuMean = double(std::clock() - cpuStart) / CLOCKS_PER_SEC * 1000 / double(queries.size());
    std::sort(ms.begin(), ms.end());
    return {ms[ms.size() / 2], ms[std::min(ms.size() - 1, ms.size() * 99 / 100)],
            double(hits) / double(queries.size()), cpuMean};
}

} // namespace

int main(int argc, char** argv) {
    QCoreApplication app(argc, argv);
    const QStringList args = app.arguments();
    const int total = args.size() > 1 ? args[1].toInt() : 1000000;
    QTemporaryDir scratch(args.size() > 2 ? args[2] + QStringLiteral("/store-bench-XXXXXX") : QString());
    if (total < kPassagesPerDocument || !scratch.isValid()) {
        std::fprintf(stderr, "usage: store_bench [PASSAGES >= %d] [DIRECTORY]\n", kPassagesPerDocument);
        return 2;
    }
    QRandomGenerator random(20261128);
    const Vocabulary vocabulary = makeVocabulary(random);

    auto opened = Store::open(scratch.filePath(QStringLiteral("bench.sqlite3")));
    if (!opened) {
        std::fprintf(stderr, "%s\n", opened.error().c_str());
        return 1;
    }
    Store& store = **opened;
    const qint64 session = *store.createSession(QStringLiteral("bench"));
    const qint64 corpus = *store.corpus(session, QStringLiteral("A"));

    // Baseline: the same kind of rows into a table with no full-text index, one transaction per document.
    const int baselineDocuments = std::max(1, std::min(20, total / kPassagesPerDocument / 10));
    store.database().exec("CREATE TEMP TABLE plain(id INTEGER PRIMARY KEY, document INTEGER, text TEXT)");
    double plainSeconds = 0;
    {
        QRandomGenerator baselineRandom(1);
        for (int d = 0; d < baselineDocuments; ++d) {
            const auto document = makeDocument(d, vocabulary, baselineRandom, kPassagesPerDocument);
            QElapsedTimer timer;
            timer.start();
            Transaction transaction(store.database());
            Statement insert = store.database().prepare("INSERT INTO plain(document, text) VALUES (?1, ?2)");
            for (const auto& passage : document.passages) insert.bind(1, d).bind(2, passage.text).run();
            transaction.commit();
            plainSeconds += timer.nsecsElapsed() / 1e9;
        }
    }
    const double plainRate = baselineDocuments * kPassagesPerDocument / plainSeconds;

    double storeSeconds = 0;
    double storeCpuSeconds = 0;
    qint64 characters = 0;
    const int documents = total / kPassagesPerDocument;
    for (int d = 0; d < documents; ++d) {
        const auto document = makeDocument(d, vocabulary, random, kPassagesPerDocument);
        for (const auto& passage : document.passages) characters += passage.text.size();
        QElapsedTimer timer;
        timer.start();
        const std::clock_t cpuStart = std::clock();
        if (auto begun = store.beginFile(corpus, document.path, document.contentHash); !begun) return 1;
        if (auto stored = store.storeDocument(corpus, document); !stored) {
            std::fprintf(stderr, "%s\n", stored.error().c_str());
            return 1;
        }
        if (auto finished = store.finishFile(corpus, document.path); !finished) return 1;
        storeSeconds += timer.nsecsElapsed() / 1e9;
        storeCpuSeconds += double(std::clock() - cpuStart) / CLOCKS_PER_SEC;
        if ((d + 1) % 100 == 0)
            std::fprintf(stderr, "  %d passages stored, %.0f/s\n", (d + 1) * kPassagesPerDocument,
                         (d + 1) * kPassagesPerDocument / storeSeconds);
    }
    const qint64 passages = qint64(documents) * kPassagesPerDocument;
    const double storeRate = passages / storeSeconds;
    store.database().exec("PRAGMA wal_checkpoint(TRUNCATE)");
    const qint64 bytes = QFileInfo(scratch.filePath(QStringLiteral("bench.sqlite3"))).size();

    // Queries: words drawn the way the text draws them (so common words are asked more often), and CJK
    // words, which go to the trigram index.
    constexpr int kQueries = 200;
    QList<QStringList> byLength(4);
    QStringList cjkQueries;
    for (int i = 0; i < kQueries; ++i) {
        for (int words = 1; words <= 3; ++words) {
            QStringList query;
            for (int w = 0; w < words; ++w) query << pick(vocabulary.latin, random);
            byLength[words] << query.join(u' ');
        }
        cjkQueries << pick(vocabulary.cjk, random);
    }
    QElapsedTimer lookupTimer;
    lookupTimer.start();
    for (int i = 0; i < kQueries; ++i) (void)store.passage(1 + random.bounded(passages));
    const double lookupMs = lookupTimer.nsecsElapsed() / 1e6 / kQueries;

    std::printf("store_bench: %lld passages (%d documents), %.1f MB of text, database %.1f MB\n",
                static_cast<long long>(passages), documents, characters * 2 / 1e6, bytes / 1e6);
    std::printf("insert: %.0f passages/s wall, %.0f per CPU second, with both full-text indexes; plain table "
                "%.0f/s wall; ratio %.3f\n",
                storeRate, passages / storeCpuSeconds, plainRate, storeRate / plainRate);
    std::printf("primary-key lookup (baseline): %.3f ms\n", lookupMs);
    for (int words = 1; words <= 3; ++words) {
        const Latency latency = measure(store, session, byLength[words]);
        std::printf("search %d word(s): p50 %.2f ms, p99 %.2f ms wall (%.1fx lookup), %.2f CPU ms mean, "
                    "%.1f hits/query\n",
                    words, latency.p50, latency.p99, latency.p50 / lookupMs, latency.cpuMean,
                    latency.hitsPerQuery);
    }
    const Latency cjk = measure(store, session, cjkQueries);
    std::printf("search CJK (trigram): p50 %.2f ms, p99 %.2f ms wall (%.1fx lookup), %.2f CPU ms mean, %.1f "
                "hits/query\n",
                cjk.p50, cjk.p99, cjk.p50 / lookupMs, cjk.cpuMean, cjk.hitsPerQuery);
    return 0;
}
