import Foundation
import Testing
import XSMCatalog
@testable import XSMCatalogGen
import XSMPolicy
import XSMTestSupport

/// The payload bindings against their real compilers: every layout encoded
/// by the Swift codec decodes, field by field, to the same values with the
/// C and Rust helpers; a nonzero reserved field and a wrong request version
/// are refused; the Go package passes its generated offset test and decodes
/// the same bytes to the same values.
@Suite struct ABIBindingTests {
  /// A value for each element of each non-reserved field, distinct and
  /// fitting the field's width; the request version is the layout's.
  static func sample(_ layout: PayloadLayout) -> PayloadRecord {
    var record = PayloadRecord()
    for (index, field) in layout.fields.enumerated() where !field.reserved {
      let bits = UInt64(field.type.size * 8)
      let mask: UInt64 = bits == 64 ? .max : (1 << bits) - 1
      record.values[field.name] = (0..<(field.count ?? 1)).map { element in
        if field.name == "version", layout.role == .request { return UInt64(layout.version) }
        // High bit set on signed fields, so sign handling is exercised.
        return (0x8100_0000_0000_0000 | UInt64(index) << 8 | UInt64(element) | UInt64(layout.size) << 16) & mask
      }
    }
    return record
  }

  /// `name value` lines, one per element of each field, in layout order.
  static func expectedLines(_ layout: PayloadLayout, _ record: PayloadRecord, stem: String) -> [String] {
    layout.fields.flatMap { field in
      (record.values[field.name] ?? Array(repeating: 0, count: field.count ?? 1)).map { "\(stem) \(field.name) \($0)" }
    }
  }

  static func byteList(_ bytes: [UInt8]) -> String { bytes.map { String($0) }.joined(separator: ", ") }

  /// The layouts with fields, their sample bytes from the Swift codec, and the lines a decoder must print.
  static func cases() throws -> [(layout: PayloadLayout, bytes: [UInt8], lines: [String])] {
    let catalog = try Generated.repositoryCatalog()
    return try catalog.layouts.filter { !$0.fields.isEmpty }.map { layout in
      let record = sample(layout)
      let bytes = try PayloadCodec(layout).encode(record)
      return (layout, bytes, expectedLines(layout, record, stem: "\(layout.op).\(layout.role.rawValue)"))
    }
  }

  @Test func everyDombuildAndEventChannelSplitOpHasBothLayouts() throws {
    let catalog = try Generated.repositoryCatalog()
    let families: Set<String> = ["dombuild", "evtself", "evtctl"]
    let ops = catalog.splitOps.filter { families.contains($0.family) }
    #expect(ops.count == 39)
    for op in ops {
      for role in PayloadRole.allCases {
        #expect(catalog.layout(of: op.name, role) != nil, "\(op.name) has no \(role.rawValue) layout")
      }
    }
    // Requests of ops on another domain carry it right after the version.
    for op in ops where op.family == "dombuild" || op.family == "evtctl" {
      let request = try #require(catalog.layout(of: op.name, .request))
      let target = try #require(request.fields.first { $0.offset == 4 })
      #expect(target.type == .domid, "\(op.name): offset 4 is `\(target.name)`, not the target domid")
    }
  }

  @Test func cHelpersDecodeTheCodecsBytes() throws {
    guard Generated.tool("gcc") else {
      print("skipped: gcc is not on the PATH, so the C payload round trip was not run")
      try Test.cancel("gcc is not on the PATH")
    }
    let catalog = try Generated.repositoryCatalog()
    let cases = try Self.cases()
    var program = ["#include <stdio.h>", "#include \"xsm_abi.h\"", "", "int main(void)", "{"]
    for (number, item) in cases.enumerated() {
      let stem = "xsm_abi_" + OpIdentifier.upperSnake(item.layout.op).lowercased() + "_" + item.layout.role.rawValue
      program.append("    {")
      program.append("        static const uint8_t b[] = {\(Self.byteList(item.bytes))};")
      program.append("        struct \(stem) v;")
      program.append("        if (\(stem)_decode(&v, b, sizeof b) != 0)")
      program.append("            return \(number + 1);")
      for field in item.layout.fields {
        let wire = "uint\(field.type.size * 8)_t"
        let name = "\(item.layout.op).\(item.layout.role.rawValue) \(field.name)"
        if let count = field.count {
          program.append("        for (size_t i = 0; i < \(count); i++)")
          program.append("            printf(\"\(name) %llu\\n\", (unsigned long long)(\(wire))v.\(field.name)[i]);")
        } else {
          program.append("        printf(\"\(name) %llu\\n\", (unsigned long long)(\(wire))v.\(field.name));")
        }
      }
      program.append("    }")
    }
    program += ["    return 0;", "}"]
    let directory = try Generated.temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: directory) }
    try Bindings.cABIHeader(catalog).write(toFile: directory + "/xsm_abi.h", atomically: true, encoding: .utf8)
    try program.joined(separator: "\n").write(toFile: directory + "/trip.c", atomically: true, encoding: .utf8)
    let build = try ProcessRunner.run("gcc", ["-std=c11", "-Wall", "-Werror", "-o", "trip", "trip.c"], directory: directory)
    #expect(build.status == 0, "gcc cannot build the payload round trip:\n\(build.errorText)")
    guard build.status == 0 else { return }
    let run = try ProcessRunner.run(directory + "/trip", [])
    #expect(run.status == 0, "the C decoder refused case \(run.status)")
    #expect(run.text == cases.flatMap(\.lines).joined(separator: "\n") + "\n")
  }

  @Test func rustModuleCompilesAndDecodesTheCodecsBytes() throws {
    guard Generated.tool("rustc") else {
      print("skipped: rustc is not on the PATH, so the Rust payload module was not compiled")
      try Test.cancel("rustc is not on the PATH")
    }
    let catalog = try Generated.repositoryCatalog()
    let directory = try Generated.temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: directory) }
    try Bindings.rustABIModule(catalog).write(toFile: directory + "/xsm_abi.rs", atomically: true, encoding: .utf8)
    let library = try ProcessRunner.run(
      "rustc", ["--crate-type", "lib", "--edition", "2021", "-D", "warnings", "--out-dir", directory, "xsm_abi.rs"],
      directory: directory)
    #expect(library.status == 0, "rustc rejects xsm_abi.rs:\n\(library.errorText)")
    let cases = try Self.cases()
    var program = ["#[allow(dead_code)]", "mod xsm_abi;", "use xsm_abi::*;", "", "fn main() {"]
    for item in cases {
      let type = RustLayoutWriter.typeName(item.layout)
      let what = "\(item.layout.op).\(item.layout.role.rawValue)"
      program.append("    {")
      program.append("        let mut b: Vec<u8> = vec![\(Self.byteList(item.bytes))];")
      program.append("        let v = \(type)::decode(&b).expect(\"\(what)\");")
      for field in item.layout.fields {
        let access = "v." + (RustLayoutWriter.keywords.contains(field.name) ? "r#" + field.name : field.name)
        let wire = "u\(field.type.size * 8)"
        if field.count != nil {
          program.append("        for e in \(access).iter() {")
          program.append("            println!(\"\(what) \(field.name) {}\", *e as \(wire));")
          program.append("        }")
        } else {
          program.append("        println!(\"\(what) \(field.name) {}\", \(access) as \(wire));")
        }
      }
      program.append("        let mut again = vec![0u8; \(type)::SIZE];")
      program.append("        assert_eq!(v.encode(&mut again), Ok(\(type)::SIZE));")
      program.append("        assert_eq!(again, b);")
      if let reserved = item.layout.fields.first(where: \.reserved) {
        program.append("        b[\(reserved.offset)] = 1;")
        program.append("        assert_eq!(\(type)::decode(&b), Err(AbiError::Reserved(\"\(reserved.name)\")));")
        program.append("        b[\(reserved.offset)] = 0;")
      }
      if item.layout.role == .request {
        // A wrong version is -ENOSYS and found before a reserved field (flask_do_xsm_op checks interface_version first).
        program.append("        b[0] ^= 0x80;")
        program.append("        assert_eq!(\(type)::decode(&b), Err(AbiError::Version));")
        program.append("        assert_eq!(AbiError::Version.errno(), -38);")
        if let reserved = item.layout.fields.first(where: \.reserved) {
          program.append("        b[\(reserved.offset)] = 1;")
          program.append("        assert_eq!(\(type)::decode(&b), Err(AbiError::Version));")
          program.append("        b[\(reserved.offset)] = 0;")
        }
      }
      program.append("        assert_eq!(\(type)::decode(&b[..\(type)::SIZE - 1]), Err(AbiError::Short));")
      program.append("    }")
    }
    program.append("}")
    try program.joined(separator: "\n").write(toFile: directory + "/trip.rs", atomically: true, encoding: .utf8)
    let build = try ProcessRunner.run("rustc", ["--edition", "2021", "-o", "trip", "trip.rs"], directory: directory)
    #expect(build.status == 0, "rustc cannot build the payload round trip:\n\(build.errorText)")
    guard build.status == 0 else { return }
    let run = try ProcessRunner.run(directory + "/trip", [])
    #expect(run.status == 0, "the Rust round trip failed:\n\(run.errorText)")
    #expect(run.text == cases.flatMap(\.lines).joined(separator: "\n") + "\n")
  }

  @Test func goPackagePassesItsOffsetTestAndDecodesTheCodecsBytes() throws {
    guard Generated.tool("go") else {
      print("skipped: go is not on the PATH, so the Go payload package was not tested")
      try Test.cancel("go is not on the PATH")
    }
    let catalog = try Generated.repositoryCatalog()
    let directory = try Generated.temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: directory) }
    try "module example.com/xsmabi\n\ngo 1.18\n".write(toFile: directory + "/go.mod", atomically: true, encoding: .utf8)
    try Bindings.goABIPackage(catalog).write(toFile: directory + "/xsmabi.go", atomically: true, encoding: .utf8)
    try Bindings.goABITest(catalog).write(toFile: directory + "/xsmabi_test.go", atomically: true, encoding: .utf8)
    // The codec's bytes decode to the codec's values in Go too.
    let cases = try Self.cases()
    var trip = ["package xsmabi", "", "import (", "\t\"fmt\"", "\t\"strings\"", "\t\"testing\"", ")", "",
      "func TestCodecBytes(t *testing.T) {", "\tvar out strings.Builder"]
    for item in cases {
      let type = GoLayoutWriter.typeName(item.layout)
      let what = "\(item.layout.op).\(item.layout.role.rawValue)"
      trip.append("\t{")
      trip.append("\t\tvar v \(type)")
      trip.append("\t\tif err := v.Decode([]byte{\(Self.byteList(item.bytes))}); err != nil {")
      trip.append("\t\t\tt.Fatal(err)")
      trip.append("\t\t}")
      for field in item.layout.fields {
        let access = "v." + GoLayoutWriter.fieldName(field)
        let wire = "uint\(field.type.size * 8)"
        if field.count != nil {
          trip.append("\t\tfor _, e := range \(access) {")
          trip.append("\t\t\tfmt.Fprintf(&out, \"\(what) \(field.name) %d\\n\", \(wire)(e))")
          trip.append("\t\t}")
        } else {
          trip.append("\t\tfmt.Fprintf(&out, \"\(what) \(field.name) %d\\n\", \(wire)(\(access)))")
        }
      }
      trip.append("\t}")
    }
    let expected = cases.flatMap(\.lines).joined(separator: "\n") + "\n"
    trip += ["\twant := `\(expected)`", "\tif out.String() != want {", "\t\tt.Errorf(\"decoded %s\", out.String())",
      "\t}", "}"]
    try trip.joined(separator: "\n").write(toFile: directory + "/trip_test.go", atomically: true, encoding: .utf8)
    let environment = ["GOCACHE=\(directory)/.cache", "GOFLAGS=-mod=mod", "go"]
    let vet = try ProcessRunner.run("env", environment + ["vet", "./..."], directory: directory)
    #expect(vet.status == 0, "go vet rejects xsmabi:\n\(vet.errorText)")
    let test = try ProcessRunner.run("env", environment + ["test", "./..."], directory: directory)
    #expect(test.status == 0, "go test fails on xsmabi:\n\(test.text)\(test.errorText)")
  }
}
