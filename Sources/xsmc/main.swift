import XSMCommandLine
import XSMCompilerCLI

// Runs xsmc with the project's exit codes (usage errors are 2, not 64).
await XSMC.mainMappingUsageErrors()
