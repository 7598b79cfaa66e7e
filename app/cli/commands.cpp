#include "app/cli/cli.h"

namespace lectern::cli {

// Defined in cmd_<name>.cpp.
Command askCommand();
Command documentsCommand();
Command generateCommand();
Command importCommand();
Command searchCommand();
Command sessionsCommand();
Command showCommand();

// Each command lives in its own cmd_<name>.cpp and is listed here once.
const std::vector<Command>& commands() {
    static const std::vector<Command> table = {importCommand(), documentsCommand(), showCommand(),
                                               searchCommand(), sessionsCommand(),  generateCommand(),
                                               askCommand()};
    return table;
}

} // namespace lectern::cli
