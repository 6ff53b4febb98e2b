import XSMCommandLine
import XSMQueryCLI

// Temporary files and m4 children go on SIGINT/SIGTERM/SIGHUP; then runs xsmq with the project's exit codes (usage errors are 2, not 64).
OutputFile.removeTemporariesOnSignals()
await XSMQ.mainMappingUsageErrors()
