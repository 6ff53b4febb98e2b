import XSMCommandLine
import XSMCompilerCLI

// Temporary files and m4 children go on SIGINT/SIGTERM/SIGHUP; then runs xsmc with the project's exit codes (usage errors are 2, not 64).
OutputFile.removeTemporariesOnSignals()
await XSMC.mainMappingUsageErrors()
