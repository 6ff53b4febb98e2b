import XSMCommandLine
import XSMServerCLI

// Runs xsmd with the project's exit codes (usage errors are 2, not 64).
await XSMD.mainMappingUsageErrors()
