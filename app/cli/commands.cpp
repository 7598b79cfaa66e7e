#include "app/cli/cli.h"

namespace lectern::cli {

// Each command lives in its own cmd_<name>.cpp and is listed here once.
const std::vector<Command>& commands() {
    static const std::vector<Command> table = {};
    return table;
}

} // namespace lectern::cli
