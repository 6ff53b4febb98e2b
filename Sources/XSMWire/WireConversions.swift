import XSMCatalog
import XSMDiagnostics
import XSMEngine
import XSMProtocol

// The engine's answers in the wire's terms (engine → V1) for xsmd, and
// back (V1 → engine) for xsmq, which renders a served answer as it renders
// a local one. The V1 types write the JSON the engine's types wrote when
// they were sent as they are; the switches are exhaustive, so a case added
// to the engine has to be given a wire spelling here.

extension ModuleV1 {
  public init(_ module: XSMModule) {
    switch module {
    case .dummy: self = .dummy
    case .silo: self = .silo
    case .flask: self = .flask
    }
  }
}

extension XSMModule {
  public init(_ module: ModuleV1) {
    switch module {
    case .dummy: self = .dummy
    case .silo: self = .silo
    case .flask: self = .flask
    }
  }
}

extension VerdictV1 {
  public init(_ verdict: Verdict) {
    switch verdict {
    case .allowed: self = .allowed
    case .denied: self = .denied
    case .invalid: self = .invalid
    }
  }
}

extension TraceStepV1 {
  public init(_ step: TraceStep) {
    let outcome: Outcome =
      switch step.outcome {
      case .pass: .pass
      case .fail: .fail
      case .info: .info
      case .permissive: .permissive
      }
    self.init(outcome: outcome, layer: step.layer, text: step.text, subject: step.subject, object: step.object,
      rules: step.rules, source: step.source)
    func wire(_ rules: [RuleCitation]?) -> [RuleCitationV1]? { rules?.map(RuleCitationV1.init) }
    origins = wire(step.origins)
    closest = wire(step.closest)
    switchedOff = wire(step.switchedOff)
    forbiddenBy = wire(step.forbiddenBy)
    originNote = step.originNote
  }
}

extension RuleCitationV1 {
  public init(_ rule: RuleCitation) {
    self.init(kind: rule.kind, file: rule.file, line: rule.line, column: rule.column, rule: rule.rule,
      macroCalls: rule.macroCalls.map { MacroCallV1(name: $0.name, call: $0.call, file: $0.file, line: $0.line) },
      condition: rule.condition)
  }
}

extension RuleCitation {
  public init(_ rule: RuleCitationV1) {
    self.init(kind: rule.kind, file: rule.file, line: rule.line, column: rule.column, rule: rule.rule,
      macroCalls: rule.macroCalls.map { MacroCallSite(name: $0.name, call: $0.call, file: $0.file, line: $0.line) },
      condition: rule.condition)
  }
}

extension DeliveryV1 {
  public init(_ channel: OpDenial.Channel) {
    switch channel {
    case .errno: self = .errno
    case .status: self = .status
    case .entry: self = .entry
    case .value: self = .value
    }
  }
}

extension DecisionV1 {
  public init(_ decision: Decision) {
    self.init(module: ModuleV1(decision.module), verdict: VerdictV1(decision.verdict), error: decision.error,
      trace: decision.trace.map(TraceStepV1.init), wouldDeny: decision.wouldDeny, returned: decision.returned,
      delivery: decision.delivery.map(DeliveryV1.init))
  }
}

extension IdentityV1 {
  public init(_ identity: XSMIdentity) {
    self.init(system: identity.system, module: ModuleV1(identity.module), enforcing: identity.enforcing,
      policySource: identity.policySource, policyVersion: identity.policyVersion, policyDigest: identity.policyDigest,
      policyBytes: identity.policyBytes, mls: identity.mls, handleUnknown: identity.handleUnknown,
      booleans: identity.booleans, sequence: identity.sequence, domains: identity.domains)
  }
}

extension MatrixV1 {
  public init(_ matrix: AccessMatrix) {
    self.init(
      modules: matrix.modules.map(ModuleV1.init), domains: matrix.domains.map(Domain.init),
      classes: matrix.classes.map {
        DomainClass(domids: $0.domids, representative: $0.representative, context: $0.context, flags: $0.flags)
      },
      classOf: matrix.classOf,
      rows: matrix.rows.map { row in
        OpRow(
          op: row.op,
          cells: row.cells.map { cell in
            Cell(callerClass: cell.callerClass, targetClass: cell.targetClass, relation: Relation(cell.relation),
              pairs: cell.pairs, verdicts: cell.verdicts.map(VerdictV1.init), example: cell.example)
          }, allowed: row.allowed, denied: row.denied, invalid: row.invalid)
      }, decisions: matrix.decisions)
  }
}

extension MatrixV1.Relation {
  public init(_ relation: AccessMatrix.Relation) {
    switch relation {
    case .same: self = .same
    case .callerServesTarget: self = .callerServesTarget
    case .targetServesCaller: self = .targetServesCaller
    case .unrelated: self = .unrelated
    }
  }
}

extension MatrixV1.Domain {
  /// The domain with its flags in name order (the engine keeps them as a set).
  public init(_ domain: HostDomain) {
    let flags = domain.flags.map { flag -> Flag in
      switch flag {
      case .control: .control
      case .hardware: .hardware
      case .xenstore: .xenstore
      }
    }
    let iommu: IOMMU =
      switch domain.iommu {
      case .intremap: .intremap
      case .nointremap: .nointremap
      case .none: .none
      }
    let kind: Kind =
      switch domain.kind {
      case .pv: .pv
      case .hvm: .hvm
      case .pvh: .pvh
      }
    self.init(domid: domain.domid, name: domain.name, flags: flags.sorted { $0.rawValue < $1.rawValue },
      targetDomid: domain.targetDomid, iommu: iommu, kind: kind, missing: domain.missing,
      contextText: domain.contextText, sid: domain.sid, selfSID: domain.selfSID, targetSID: domain.targetSID)
  }
}

// MARK: Back to the engine's terms (xsmq --server)

extension Verdict {
  public init(_ verdict: VerdictV1) {
    switch verdict {
    case .allowed: self = .allowed
    case .denied: self = .denied
    case .invalid: self = .invalid
    }
  }
}

extension TraceStep {
  public init(_ step: TraceStepV1) {
    let outcome: Outcome =
      switch step.outcome {
      case .pass: .pass
      case .fail: .fail
      case .info: .info
      case .permissive: .permissive
      }
    self.init(outcome, step.layer, step.text, subject: step.subject, object: step.object, rules: step.rules,
      source: step.source)
    func local(_ rules: [RuleCitationV1]?) -> [RuleCitation]? { rules?.map(RuleCitation.init) }
    origins = local(step.origins)
    closest = local(step.closest)
    switchedOff = local(step.switchedOff)
    forbiddenBy = local(step.forbiddenBy)
    originNote = step.originNote
  }
}

extension Decision {
  public init(_ decision: DecisionV1) {
    self.init(module: XSMModule(decision.module), verdict: Verdict(decision.verdict), error: decision.error,
      trace: decision.trace.map(TraceStep.init), wouldDeny: decision.wouldDeny)
    returned = decision.returned
    delivery = decision.delivery.map { delivery in
      switch delivery {
      case .errno: .errno
      case .status: .status
      case .entry: .entry
      case .value: .value
      }
    }
  }
}

// MARK: Questions

extension OpQuestion.Options {
  /// The second domain and device of a `/v1/can` request.
  public init(_ request: CanRequestV1) {
    self.init(object: request.object, irq: request.irq, pci: request.pci, iomem: request.iomem,
      ioport: request.ioport, dt: request.dt)
  }

  /// The second domain and device of one batch query.
  public init(_ query: BatchRequestV1.Query) {
    self.init(object: query.object, irq: query.irq, pci: query.pci, iomem: query.iomem, ioport: query.ioport,
      dt: query.dt)
  }
}

extension BatchRequestV1.Query {
  /// True when `OpQuestion.Options(self)` is empty: no second domain and no device (checked
  /// without building the options, for the batch route's per-question path).
  public var namesNoOptions: Bool {
    object == nil && irq == nil && pci == nil && iomem == nil && ioport == nil && dt == nil
  }
}
