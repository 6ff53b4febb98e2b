import XSMCommandLine
import XSMQueryCLI

// Runs xsmq with the project's exit codes (usage errors are 2, not 64).
await XSMQ.mainMappingUsageErrors()
