import Foundation

/// The HTML report of a `DecisionDiff`: a self-contained page that says what
/// changes between two sides (two policies on one host, two hosts, or two
/// modules) — the sides, counts per op family and the ops that changed most
/// at the top — and, drawn by a small script from compact strings, each
/// changed op's caller × target grid marking what is lost, gained and
/// unchanged with the Flask checks and rules responsible, and a caller × op
/// summary per family. Labels, filters and legend are the matrix page's
/// (`MatrixHTML`); two sides without a difference get a page that says so.
enum DiffHTML {
  /// The data the page's script draws from, embedded as JSON.
  ///
  /// A domain's class combines its class on the old side and on the new one,
  /// and a pair's relation is taken on both sides (a domain may serve another
  /// on one host only), so a targeted op's string has one mark per
  /// `((callerClass × classes + targetClass) × 4 + oldRelation) × 4 + newRelation`
  /// key listed in `combos`; an op without a target has one mark per caller.
  /// Marks: `l` lost, `g` gained, `A` allowed on both sides, `d` denied on
  /// both, `x` invalid on both, `y` refused on both (denied on one, invalid on
  /// the other: not a change), `-` not asked.
  struct PageData: Codable {
    struct Domain: Codable {
      var name: String
      /// `domN (name)` on the new side.
      var label: String
      var context: String
      /// The old side's context, when it differs.
      var oldContext: String?
      var cls: Int
      /// Index of the domain this one is the device model of, on the new side and on the old one.
      var dm: Int?
      var odm: Int?
    }
    /// Why some pairs lost or gained an op: the same checks and rules.
    struct Reason: Codable {
      var gained: Bool
      /// Each changed Flask check with its outcome on both sides (`event:reset current -> target: granted → denied`).
      var checks: [String]
      /// Indices into `texts`: the rules that grant the checks (the new side's for a gain, the old side's for a loss).
      var rules: [Int]
      /// Indices into `texts`: the source statements behind `rules`, with the macro calls that produced them.
      var sources: [Int]
      /// Notes on the checks, or the step that refuses when no Flask check differs.
      var notes: [String]
      /// The first pairs, as `caller → target`, and how many there are.
      var pairs: [String]
      var count: Int
    }
    struct OpData: Codable {
      var op: String
      var targeted: Bool
      var v: String
      /// (pair, op) changes, as `DecisionDiff` counts them.
      var gained: Int
      var lost: Int
      var why: [Reason]
    }
    var old: String
    var new: String
    var classes: Int
    var domains: [Domain]
    var combos: [Int]
    /// Rules and source statements, each written once.
    var texts: [String]
    var ops: [OpData]
  }

  /// How many pairs a reason names before it says "and N more".
  static let pairsShown = 6

  static func mark(_ old: Verdict?, _ new: Verdict?) -> Character {
    guard let old, let new else { return "-" }
    switch (old == .allowed, new == .allowed) {
    case (false, true): return "g"
    case (true, false): return "l"
    case (true, true): return "A"
    case (false, false): return old != new ? "y" : old == .denied ? "d" : "x"
    }
  }

  /// Gained and lost (pair, op) changes by op, from the diff's pairs.
  static func counts(_ diff: DecisionDiff) -> [String: (gained: Int, lost: Int)] {
    var counts: [String: (gained: Int, lost: Int)] = [:]
    for pair in diff.pairs {
      for change in pair.gained { counts[change.op, default: (0, 0)].gained += 1 }
      for change in pair.lost { counts[change.op, default: (0, 0)].lost += 1 }
    }
    return counts
  }

  static func data(_ diff: DecisionDiff, _ grids: DecisionDiff.Grids) -> PageData {
    let (old, new, common) = (grids.old, grids.new, grids.common)
    var classIndex: [[Int]: Int] = [:]
    var cls: [Int] = []
    for pair in common {
      let key = [old.classOf[pair.old], new.classOf[pair.new]]
      if classIndex[key] == nil { classIndex[key] = classIndex.count }
      cls.append(classIndex[key] ?? 0)
    }
    let classCount = classIndex.count
    let newPosition = Dictionary(common.enumerated().map { (new.domains[$1.new].domid, $0) }, uniquingKeysWith: { a, _ in a })
    let oldPosition = Dictionary(common.enumerated().map { (old.domains[$1.old].domid, $0) }, uniquingKeysWith: { a, _ in a })
    let domains = common.enumerated().map { i, pair in
      let d = new.domains[pair.new]
      let o = old.domains[pair.old]
      return PageData.Domain(name: d.name, label: d.label, context: d.contextText,
        oldContext: o.contextText == d.contextText ? nil : o.contextText, cls: cls[i],
        dm: d.targetDomid.flatMap { newPosition[$0] }, odm: o.targetDomid.flatMap { oldPosition[$0] })
    }
    // The relation the page's script computes: same domain, caller serves target, target serves caller, none.
    func relation(_ c: Int, _ t: Int, _ serves: KeyPath<PageData.Domain, Int?>) -> Int {
      c == t ? 0 : domains[c][keyPath: serves] == t ? 1 : domains[t][keyPath: serves] == c ? 2 : 3
    }
    // Every key a pair has, with one pair to read its marks from.
    var comboIndex: [Int: Int] = [:]
    var combos: [Int] = []
    var representatives: [(Int, Int)] = []
    for c in common.indices {
      for t in common.indices {
        let key = ((cls[c] * classCount + cls[t]) * 4 + relation(c, t, \.odm)) * 4 + relation(c, t, \.dm)
        guard comboIndex[key] == nil else { continue }
        comboIndex[key] = combos.count
        combos.append(key)
        representatives.append((c, t))
      }
    }

    var texts: [String] = []
    var textIndex: [String: Int] = [:]
    func text(_ s: String) -> Int {
      if let i = textIndex[s] { return i }
      textIndex[s] = texts.count
      texts.append(s)
      return texts.count - 1
    }
    var reasons: [String: [PageData.Reason]] = [:]
    for pair in diff.pairs {
      for (gained, changes) in [(false, pair.lost), (true, pair.gained)] {
        for change in changes {
          var reason = PageData.Reason(gained: gained,
            checks: change.checks.map { "\($0.check): \($0.old.rawValue) → \($0.new.rawValue)" }, rules: [], sources: [],
            notes: [], pairs: [], count: 0)
          for check in change.checks {
            for rule in check.rules where !reason.rules.contains(text(rule)) { reason.rules.append(text(rule)) }
            let permission = check.check.split(separator: " ").first.flatMap { $0.split(separator: ":").last }.map(String.init)
            for origin in check.origins ?? [] {
              let source = "\(origin.location): \(origin.shortRule(keeping: permission.map { [$0] } ?? []))"
                + (origin.condition.map { " [if \($0)]" } ?? "") + (origin.viaText.map { " — \($0)" } ?? "")
              if !reason.sources.contains(text(source)) { reason.sources.append(text(source)) }
            }
            if let note = check.note, !reason.notes.contains(note) { reason.notes.append(note) }
          }
          if let why = change.reason { reason.notes.append(why) }
          var list = reasons[change.op, default: []]
          let same = list.firstIndex {
            $0.gained == reason.gained && $0.checks == reason.checks && $0.rules == reason.rules && $0.notes == reason.notes
          }
          let i = same ?? list.count
          if same == nil { list.append(reason) }
          if list[i].pairs.count < pairsShown { list[i].pairs.append("\(pair.caller.name) → \(pair.target.name)") }
          list[i].count += 1
          reasons[change.op] = list
        }
      }
    }

    let counts = counts(diff)
    var ops: [PageData.OpData] = []
    for (r, row) in new.rows.enumerated() {
      guard let count = counts[row.op] else { continue }
      let readOld = old.reader(row: r)
      let readNew = new.reader(row: r)
      let read = { (c: Int, t: Int) in
        mark(readOld(common[c].old, common[t].old, 0), readNew(common[c].new, common[t].new, 0))
      }
      let targeted = !MatrixHTML.isTargetless(row, domainCount: new.domains.count)
      let marks = targeted ? representatives.map(read) : common.indices.map { read($0, $0) }
      ops.append(PageData.OpData(op: row.op, targeted: targeted, v: String(marks), gained: count.gained, lost: count.lost,
        why: reasons[row.op] ?? []))
    }
    return PageData(old: diff.old.name, new: diff.new.name, classes: classCount, domains: domains, combos: combos,
      texts: texts, ops: ops)
  }

  /// Why dummy and silo cannot tell two policies apart, when both sides are decided under one of them.
  static func moduleNote(_ diff: DecisionDiff) -> String? {
    let modules = Set([diff.old.module, diff.new.module])
    guard !modules.contains(.flask) else { return nil }
    let names = modules.map(\.rawValue).sorted().joined(separator: " and ")
    let consequence = modules.count > 1
      ? "so the differences here are the two modules' rules alone"
      : diff.old.system == diff.new.system
        ? "so two policies on one host cannot answer differently under it: compare policies under flask (the default "
          + "without --module)"
        : "so differences here come from the two hosts' domains, not from their policies"
    let silo = modules.contains(.silo)
      ? ", and silo only adds that event channels, grants and Argo need the control domain at one end or the same "
        + "domain at both (xen/xsm/silo.c)" : ""
    return "\(names) decide\(modules.count > 1 ? "" : "s") without the policy: the dummy rules read only the domains' "
      + "flags (control, hardware, xenstore), device-model targets and whether caller and target are the same domain "
      + "(xen/include/xsm/dummy.h, xsm_default_action)\(silo); \(consequence)."
  }

  /// Enforcing mode and booleans that differ between the sides, as `name: old → new`.
  static func settings(_ identities: (old: XSMIdentity, new: XSMIdentity)) -> [String] {
    let (old, new) = identities
    func word(_ value: Bool?) -> String { value.map { $0 ? "true" : "false" } ?? "none" }
    var lines: [String] = []
    // Enforcing is nil under dummy and silo, which do not enforce a policy.
    if let before = old.enforcing, let after = new.enforcing, before != after {
      lines.append("enforcing: \(word(before)) → \(word(after))")
    }
    for name in Set(old.booleans.keys).union(new.booleans.keys).sorted() where old.booleans[name] != new.booleans[name] {
      lines.append("boolean \(name): \(word(old.booleans[name])) → \(word(new.booleans[name]))")
    }
    return lines
  }

  /// A table cell of lost or gained changes, muted when there are none.
  static func count(_ n: Int, _ style: String) -> String {
    "<td class=\"\(n == 0 ? "z" : style)\">\(n)</td>"
  }

  static func describe(_ side: DecisionDiff.SideFacts) -> String {
    let escape = MatrixRendering.escape
    return "<td>\(escape(side.name))</td><td>\(escape(side.policy))</td><td>\(escape(side.system))</td>"
      + "<td>\(side.module.rawValue)</td><td>\(side.policyDigest.map { String($0.prefix(12)) } ?? "")</td>"
  }

  static func page(_ diff: DecisionDiff) -> String {
    let escape = MatrixRendering.escape
    let title = "What changes from \(diff.old.name) to \(diff.new.name)"
    let modules = diff.old.module == diff.new.module
      ? "under \(diff.old.module.rawValue)" : "old under \(diff.old.module.rawValue), new under \(diff.new.module.rawValue)"
    let compared = "\(diff.opsCompared) ops × \(diff.pairsCompared) (caller, target) pairs compared \(modules)"
    var head = MatrixHTML.head(title, style: style) + """
      <table class="sides"><thead><tr><th></th><th>side</th><th>policy</th><th>system</th><th>module</th><th>sha256</th></tr></thead>
      <tbody><tr><th>old</th>\(describe(diff.old))</tr><tr><th>new</th>\(describe(diff.new))</tr></tbody></table>

      """
    for (side, names) in [("old", diff.onlyOld), ("new", diff.onlyNew)] where !names.isEmpty {
      head += "<p class=\"note\">Not compared, only on the \(side) side: \(escape(names.joined(separator: ", "))).</p>\n"
    }
    if let settings = diff.grids.map({ settings($0.identities) }), !settings.isEmpty {
      head += "<p class=\"note\">Settings that differ: \(escape(settings.joined(separator: "; "))).</p>\n"
    }
    if let note = moduleNote(diff) { head += "<p class=\"note\">\(escape(note))</p>\n" }
    guard !diff.isEmpty, let grids = diff.grids else {
      return head + """
        <p class="same"><b>No differences</b>: every op answers the same for every pair on both sides \
        (\(escape(compared))).</p>
        </body></html>

        """
    }

    let counts = counts(diff)
    let data = data(diff, grids)
    var families: [(name: String, ops: Int, gained: Int, lost: Int)] = []
    for op in data.ops {
      let family = String(op.op.split(separator: ".").first ?? Substring(op.op))
      // By first appearance, should a family's ops not be next to each other in the catalog.
      let i = families.firstIndex { $0.name == family } ?? families.count
      if i == families.count { families.append((family, 0, 0, 0)) }
      families[i].ops += 1
      families[i].gained += op.gained
      families[i].lost += op.lost
    }
    let familyRows = families.map { f in
      "<tr><th><a href=\"#family=\(escape(f.name))\">\(escape(f.name))</a></th><td>\(f.ops)</td>"
        + count(f.lost, "nl") + count(f.gained, "ng") + "</tr>"
    }.joined(separator: "\n")
    let most = data.ops.enumerated().sorted { a, b in
      (a.element.gained + a.element.lost, b.offset) > (b.element.gained + b.element.lost, a.offset)
    }.prefix(10).map(\.element)
    let mostRows = most.map { op in
      "<tr><th><a href=\"#op=\(escape(op.op))\">\(escape(op.op))</a></th>" + count(op.lost, "nl") + count(op.gained, "ng")
        + "</tr>"
    }.joined(separator: "\n")
    let overview = MatrixHTML.byFamily(data.ops.map(\.op), columns: 3) { i in
      let op = data.ops[i]
      return "<tr data-op=\"\(escape(op.op))\"><th><a href=\"#op=\(escape(op.op))\">\(escape(op.op))</a></th>"
        + count(op.lost, "nl") + count(op.gained, "ng") + "</tr>\n"
    }
    let domainRows = data.domains.map { d in
      "<tr><td>\(escape(d.label))</td><td>\(escape(d.oldContext ?? d.context))</td><td>\(escape(d.context))</td></tr>"
    }.joined(separator: "\n")
    let pairs = diff.pairs.count
    let changedOps = counts.count
    let (old, new) = (escape(diff.old.name), escape(diff.new.name))
    let showControl = "<label>Show <select id=\"show\"><option value=\"\">lost and gained</option>"
      + "<option value=\"l\">only lost</option><option value=\"g\">only gained</option></select></label>"
    return head + """
      <p class="lead"><b>\(changedOps) op\(changedOps == 1 ? "" : "s") answer differently</b> for \(pairs) \
      (caller, target) pair\(pairs == 1 ? "" : "s"): <span class="\(diff.lost == 0 ? "z" : "nl")">\(diff.lost) (pair, op) \
      decisions lost</span>, <span class="\(diff.gained == 0 ? "z" : "ng")">\(diff.gained) gained</span> (\(escape(compared))). A change between denied and invalid is not \
      counted. Pick an op for its caller × target grid with the checks and rules responsible, or a family for a caller × \
      op summary.</p>
      <div class="summary"><div><h2>By family</h2><table class="st"><thead><tr><th>family</th><th>ops</th>\
      <th>lost</th><th>gained</th></tr></thead><tbody>
      \(familyRows)
      </tbody></table></div>
      <div><h2>Ops that changed most</h2><table class="st"><thead><tr><th>op</th><th>lost</th><th>gained</th></tr></thead><tbody>
      \(mostRows)
      </tbody></table></div></div>
      <div class="legend"><b>Legend</b>
      <span><i class="c ls">−</i> lost: allowed by \(old), refused by \(new)</span>\
      <span><i class="c gn">+</i> gained: refused by \(old), allowed by \(new)</span>\
      <span><i class="c au">A</i> allowed by both</span><span><i class="c d">·</i> refused by both</span>\
      <span><i class="c x">×</i> invalid on both: Xen refuses the call whatever the module</span>\
      <span><i class="c n"></i> not asked (an op without a target is asked once per caller, in the column “(no target)”)</span>\
      <span><i class="c ls k">−3</i> <i class="c gn k">+1</i> in a family summary: lost or gained on that many targets</span></div>
      <noscript><p class="warn">The grids and family summaries are drawn by a small script in this page; \
      without it only the summary, the list of changed ops and the domains are shown.</p></noscript>
      \(MatrixHTML.controls(showControl))<h2 id="overview">Changed ops: (pair, op) decisions lost and gained</h2>
      <div class="scroll"><table class="ov"><thead><tr><th>op</th><th>lost</th><th>gained</th></tr></thead>
      \(overview)</table></div>
      <details><summary>Domains compared (\(data.domains.count))</summary>
      <table class="doms"><thead><tr><th>domain</th><th>old context</th><th>new context</th></tr></thead>
      \(domainRows)
      </table></details>

      """ + MatrixHTML.end(data: data, script: script)
  }

  static let style = """
    .sides{margin:.4em 0;font-size:13px}.sides td,.sides th{padding:1px 8px}.sides thead th{position:static}\
    .note{background:#eef2ff;padding:.4em}.same{font-size:1.1em;background:#ecfdf5;padding:.6em;border:1px solid #a7f3d0}\
    .summary{display:flex;flex-wrap:wrap;gap:0 2.5em}.summary h2{font-size:1em;margin:.6em 0 .2em}\
    .summary thead th{position:static}.st td{text-align:right;font-variant-numeric:tabular-nums}.st a{text-decoration:none}.z{color:#aaa}td.nl,span.nl{color:#b91c1c}td.ng,span.ng{color:#1d4ed8}\
    .ls{background:#dc2626;color:#fff;font-weight:bold}.gn{background:#2563eb;color:#fff;font-weight:bold}\
    .gl{background:#f59e0b;color:#111;font-weight:bold}.au{background:#c8e6c9;color:#2e7d32}.g td.u{background:#f9fafb}\
    .g td.k,.c.k{width:auto;min-width:18px;padding:0 3px}.why{max-width:80em;font-size:13px}.why li{margin:.3em 0}\
    .why code{font-size:12px;background:#f4f6f8;padding:0 3px;white-space:pre-wrap}
    """

  /// Draws the views from the embedded data; reads the view to show from the URL's fragment (`#op=NAME`, `#family=NAME`).
  static let script = "(function(){\n" + ownScript + "\n" + MatrixHTML.sharedScript + "\n})();"

  /// The diff page's own part of its script (see `MatrixHTML.sharedScript`).
  static let ownScript = #"""
    const D=JSON.parse(document.getElementById('data').textContent),N=D.domains.length,C=D.classes;
    const cidx=new Map();D.combos.forEach((k,i)=>cidx.set(k,i));
    const word={l:'lost: allowed by '+D.old+', refused by '+D.new,g:'gained: refused by '+D.old+', allowed by '+D.new,
      A:'allowed by both',d:'denied by both',x:'invalid on both',y:'refused by both (denied on one side, invalid on the other)','-':'not asked'};
    const sym={l:'−',g:'+',A:'A',d:'·',x:'×',y:'·','-':''},cls={l:'ls',g:'gn',A:'au',d:'d',x:'x',y:'d','-':'n'};
    const ops=new Map();D.ops.forEach(o=>ops.set(o.op,o));
    function rel(c,t,k){const d=D.domains;return c===t?0:d[c][k]===t?1:d[t][k]===c?2:3}
    function at(o,c,t){if(!o.targeted)return c===t?o.v[c]:'-';
      const d=D.domains,i=cidx.get(((d[c].cls*C+d[t].cls)*4+rel(c,t,'odm'))*4+rel(c,t,'dm'));return i===undefined?'-':o.v[i]}
    const show=()=>$('show').value;
    function ctx(i){const d=D.domains[i];return d.label+' '+(d.oldContext?d.oldContext+' → ':'')+d.context}
    function changed(o,c,cols){const r={l:[],g:[]};for(const t of cols){const tt=t<0?c:t,v=at(o,c,tt);if(v==='l'||v==='g')r[v].push(tt)}return r}
    function names(ts,c){return ts.map(t=>t===c?'itself':nm(t))}
    function showOp(name){const o=ops.get(name);if(!o)return false;
      const rows=pick('caller'),cols=o.targeted?pick('target'):[-1];
      let h='<h2>'+esc(name)+' <small>(rows: caller, columns: '+(o.targeted?'target':'no target: asked once per caller')+
        '; <span class="nl">'+o.lost+' lost</span>, <span class="ng">'+o.gained+' gained</span>)</small> <a href="#">close</a></h2>';
      h+='<div class="scroll"><table class="g"><thead><tr><th>caller \\ target</th>'+cols.map(t=>t<0?'<th>(no target)</th>':
        '<th title="'+esc(ctx(t))+'">'+esc(nm(t))+'</th>').join('')+'<th class="h">changes</th></tr></thead><tbody>';
      for(const c of rows){const r=changed(o,c,cols);
        h+='<tr><th title="'+esc(ctx(c))+'">'+esc(nm(c))+'</th>';
        for(const t of cols){const tt=t<0?c:t,v=at(o,c,tt);
          h+='<td class="'+cls[v]+'" title="'+esc(nm(c)+' '+o.op+' '+(t<0?'(no target)':nm(tt))+': '+word[v])+'">'+sym[v]+'</td>'}
        const s=(r.l.length?'lost on '+(r.l.length<=4?names(r.l,c).join(', '):r.l.length):'')+(r.l.length&&r.g.length?'; ':'')+
          (r.g.length?'gained on '+(r.g.length<=4?names(r.g,c).join(', '):r.g.length):'');
        h+='<td class="sum" title="'+esc(s)+'">'+esc(s)+'</td></tr>'}
      h+='</tbody></table></div><h3>Why</h3><ul class="why">';
      for(const w of o.why){if(show()&&show()!==(w.gained?'g':'l'))continue;
        h+='<li><b class="'+(w.gained?'ng':'nl')+'">'+(w.gained?'gained':'lost')+'</b> by '+w.count+' pair'+(w.count>1?'s':'')+' ('+
          esc(w.pairs.join(', ')+(w.count>w.pairs.length?', and '+(w.count-w.pairs.length)+' more':''))+')'+
          (w.checks.length?': '+w.checks.map(c=>'<code>'+esc(c)+'</code>').join(', '):'')+
          (w.rules.length?'<br>rules of '+esc(w.gained?D.new:D.old)+' that grant '+(w.gained?'it':'what is lost')+': '+
            w.rules.map(i=>'<code>'+esc(D.texts[i])+'</code>').join(' '):'')+
          (w.sources.length?'<br>from the source: '+w.sources.map(i=>'<code>'+esc(D.texts[i])+'</code>').join(' '):'')+
          w.notes.map(n=>'<br>'+esc(n)).join('')+'</li>'}
      $('view').innerHTML=h+'</ul>';return true}
    function showFamily(f){const rows=pick('caller'),t=$('target').value,list=D.ops.filter(o=>fam(o.op)===f&&visible(o));
      let h='<h2>'+esc(f)+' <small>(rows: caller; a cell: on how many targets the op is lost or gained'+
        (t===''?'':' — target '+esc(nm(+t))+' only')+'; click an op for its grid)</small> <a href="#">close</a></h2>'+
        '<div class="scroll"><table class="g"><thead><tr><th>caller \\ op</th>'+list.map(o=>'<th><a class="op" href="#op='+
        esc(o.op)+'">'+esc(o.op.slice(f.length+1))+(o.targeted?'':' (no target)')+'</a></th>').join('')+'</tr></thead><tbody>';
      for(const c of rows){h+='<tr><th title="'+esc(ctx(c))+'">'+esc(nm(c))+'</th>';
        for(const o of list){const r=changed(o,c,o.targeted?pick('target'):[-1]),l=show()==='g'?[]:r.l,g=show()==='l'?[]:r.g;
          const txt=(l.length?'−'+l.length:'')+(g.length?'+'+g.length:''),k=l.length&&g.length?'gl':l.length?'ls':g.length?'gn':'';
          const tip=(l.length?'lost on '+names(l,c).join(', '):'')+(l.length&&g.length?'; ':'')+(g.length?'gained on '+names(g,c).join(', '):'');
          h+='<td class="'+(k?k+' k':'u')+'" title="'+esc(nm(c)+' '+o.op+': '+(tip||'unchanged'))+'">'+txt+'</td>'}
        h+='</tr>'}
      $('view').innerHTML=h+'</tbody></table></div>';return true}
    function visible(o){const q=$('filter').value.trim(),f=$('family').value,s=show();
      if(f&&fam(o.op)!==f)return false;if(q&&!o.op.includes(q))return false;
      if(s==='l'&&!o.lost||s==='g'&&!o.gained)return false;return true}
    $('filter').oninput=()=>{filter();route()};
    ['caller','target','show'].forEach(id=>$(id).onchange=()=>{filter();route()});
    """#
}

extension MatrixRendering {
  /// A self-contained HTML page of a diff: the sides, a summary by family and
  /// op, and per changed op a caller × target grid of what is lost, gained
  /// and unchanged, with the checks and rules responsible (see `DiffHTML`).
  public static func html(_ diff: DecisionDiff) -> String {
    DiffHTML.page(diff)
  }
}
