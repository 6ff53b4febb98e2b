import XSMDiagnostics
import XSMPolicy

/// A small valid Xen-shaped policy that negative cases append to, so each
/// case reports only its own error.
let preamble = """
  class xen
  class domain
  class event
  sid xen
  sid dom0
  class xen { settime readconsole writeconsole }
  class domain { pause unpause create getdomaininfo }
  class event { bind send create }
  attribute domain_type;
  type xen_t;
  type dom0_t, domain_type;
  type domU_t, domain_type;
  role system_r types { domain_type xen_t };
  bool guest_ok true;
  user system_u roles { system_r };
  sid xen system_u:system_r:xen_t
  sid dom0 system_u:system_r:dom0_t

  """

/// The marker that stands for the expected location in a test source.
let marker = "1️⃣"

/// Strips the marker from `source` and returns the text with the marker's 1-based line and column.
func locate(_ source: String) -> (text: String, line: Int, column: Int)? {
  guard let range = source.range(of: marker) else { return nil }
  let before = source[..<range.lowerBound]
  let line = before.count { $0 == "\n" } + 1
  let column = before.count - (before.lastIndex(of: "\n").map { before.distance(from: before.startIndex, to: $0) + 1 } ?? 0) + 1
  return (source.replacingCharacters(in: range, with: ""), line, column)
}

/// Runs the front end on in-memory text.
func frontend(_ text: String, mls: Bool = false, version: Int = 30, name: String = "test.conf") -> FrontendResult {
  PolicyFrontend.run(.text(name: name, text: text), options: CheckOptions(mls: mls, policyVersion: version))
}
