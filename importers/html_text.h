#pragma once
// HTML to text with a flat tokenizer: no tree, no recursion, so nesting depth costs nothing. Block
// elements become line or paragraph breaks; script, style and comments are dropped; entities decoded.

#include <QString>

namespace lectern::importers {

// The <title>, when `title` is given and still empty.
QString htmlToText(const QString& html, QString* title);

} // namespace lectern::importers
