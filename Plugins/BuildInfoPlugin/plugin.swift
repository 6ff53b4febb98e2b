import Foundation
import PackagePlugin

/// Writes `GeneratedBuildInfo.swift` (the git revision and the libsepol version the
/// binaries are built from) before every build; `Scripts/build-info.sh` keeps
/// the file untouched when nothing changed, so the target is not recompiled.
@main
struct BuildInfoPlugin: BuildToolPlugin {
  func createBuildCommands(context: PluginContext, target: any Target) throws -> [Command] {
    let output = context.pluginWorkDirectoryURL.appending(path: "generated")
    let script = context.package.directoryURL.appending(path: "Scripts/build-info.sh")
    return [
      .prebuildCommand(
        displayName: "Recording the git revision and libsepol version",
        executable: URL(fileURLWithPath: "/bin/sh"),
        arguments: [script.path, context.package.directoryURL.path, output.appending(path: "GeneratedBuildInfo.swift").path],
        outputFilesDirectory: output)
    ]
  }
}
