import Foundation

/// The HTML report of an access matrix: a self-contained page (no external
/// resources) with an overview table of every op under every module, and —
/// drawn by a small script from compact verdict strings — a caller × target
/// grid per op, a grid of where the modules disagree, and a caller × op
/// summary per family, all with labels that stay in view when scrolling.
enum MatrixHTML {
  /// The data the page's script draws from, embedded as JSON.
  ///
  /// Verdicts are one character each (`A` allowed, `d` denied, `x` invalid,
  /// `-` not asked). An op with a target has one string per module over
  /// `combos`, the (caller class, target class, relation) keys of the matrix;
  /// an op without one has one string per module over the callers. A module
  /// whose string equals the previous module's is written as an empty string.
  struct PageData: Codable {
    struct Domain: Codable {
      var id: Int
      var name: String
      var label: String
      var context: String
      /// Class of interchangeable domains.
      var cls: Int
      /// Index of the domain this one is the device model of.
      var dm: Int?
    }
    struct OpData: Codable {
      var op: String
      /// False for an op without a domain argument (one question per caller).
      var targeted: Bool
      var v: [String]
    }
    var modules: [String]
    var classes: Int
    var domains: [Domain]
    /// `(callerClass × classes + targetClass) × 4 + relation` of each position of a targeted op's string.
    var combos: [Int]
    var ops: [OpData]
  }

  static func mark(_ verdict: Verdict?) -> Character {
    switch verdict {
    case .allowed: "A"
    case .denied: "d"
    case .invalid: "x"
    case nil: "-"
    }
  }

  /// True when the op takes no domain argument: only the caller's own cell is asked.
  static func isTargetless(_ row: AccessMatrix.OpRow, domainCount: Int) -> Bool {
    domainCount > 1 && row.cells.allSatisfy { $0.relation == .same }
  }

  static func data(_ matrix: AccessMatrix) -> PageData {
    let relations = AccessMatrix.Relation.allCases.count
    let classCount = matrix.classes.count
    let key = { (cell: AccessMatrix.Cell) in (cell.callerClass * classCount + cell.targetClass) * relations + cell.relation.rawValue }
    var comboIndex: [Int: Int] = [:]
    var combos: [Int] = []
    for row in matrix.rows where !isTargetless(row, domainCount: matrix.domains.count) {
      for cell in row.cells where comboIndex[key(cell)] == nil {
        comboIndex[key(cell)] = combos.count
        combos.append(key(cell))
      }
    }
    let position = Dictionary(matrix.domains.enumerated().map { ($1.domid, $0) }, uniquingKeysWith: { a, _ in a })
    let domains = matrix.domains.enumerated().map { i, d in
      PageData.Domain(id: d.domid, name: d.name, label: d.label, context: d.contextText, cls: matrix.classOf[i],
        dm: d.targetDomid.flatMap { position[$0] })
    }
    var ops: [PageData.OpData] = []
    for (r, row) in matrix.rows.enumerated() {
      let targeted = !isTargetless(row, domainCount: matrix.domains.count)
      var strings: [String] = []
      if targeted {
        for m in matrix.modules.indices {
          var marks = [Character](repeating: "-", count: combos.count)
          for cell in row.cells { marks[comboIndex[key(cell)]!] = mark(cell.verdicts[m]) }
          strings.append(String(marks))
        }
      } else {
        let read = matrix.reader(row: r)
        for m in matrix.modules.indices {
          strings.append(String(matrix.domains.indices.map { mark(read($0, $0, m)) }))
        }
      }
      // Only the first of a run of equal strings keeps its text; the script repeats it.
      for m in strings.indices.reversed() where m > 0 && strings[m] == strings[m - 1] { strings[m] = "" }
      ops.append(PageData.OpData(op: row.op, targeted: targeted, v: strings))
    }
    return PageData(modules: matrix.modules.map(\.rawValue), classes: classCount, domains: domains, combos: combos, ops: ops)
  }

  /// Callers allowed the op on exactly one target that is not themselves, as
  /// `caller → target`, for one module: the relations the eye misses in a grid.
  static func oneTargetGrants(_ matrix: AccessMatrix, row r: Int, module m: Int) -> [String] {
    let read = matrix.reader(row: r)
    var grants: [String] = []
    for ci in matrix.domains.indices {
      var allowed: [Int] = []
      var asked = 0
      for ti in matrix.domains.indices {
        guard let v = read(ci, ti, m) else { continue }
        asked += 1
        if v == .allowed { allowed.append(ti) }
      }
      if asked > 1, allowed.count == 1, allowed[0] != ci {
        grants.append("\(matrix.domains[ci].name) → \(matrix.domains[allowed[0]].name)")
      }
    }
    return grants
  }

  static func page(_ matrix: AccessMatrix, title: String) -> String {
    let escape = MatrixRendering.escape
    let n = matrix.domains.count
    let overview = byFamily(matrix.rows.map(\.op), columns: matrix.modules.count + 2) { r in
      let row = matrix.rows[r]
      let asked = row.cells.reduce(0) { $0 + $1.pairs }
      let differs = matrix.modules.count > 1 && row.cells.contains { Set($0.verdicts).count > 1 }
      var line = "<tr data-op=\"\(escape(row.op))\"\(differs ? " class=\"differs\"" : "")><th><a href=\"#op=\(escape(row.op))\">\(escape(row.op))</a></th>"
      for m in matrix.modules.indices {
        let grants = oneTargetGrants(matrix, row: r, module: m)
        let tip = grants.isEmpty ? "" : " title=\"allowed on 1 of \(n) targets: \(escape(grants.joined(separator: ", ")))\""
        line += "<td\(tip)>\(row.allowed[m])/\(asked)"
          + (row.invalid[m] > 0 ? " <span class=\"inv\">\(row.invalid[m]) invalid</span>" : "")
          + (grants.isEmpty ? "" : " <span class=\"one\">1</span>") + "</td>"
      }
      return line + "<td>\(differs ? "≠" : "")</td></tr>\n"
    }
    let moduleHeads = matrix.modules.map { "<th>\(escape($0.rawValue))</th>" }.joined()
    let domainRows = matrix.domains.enumerated().map { i, d in
      "<tr><td>\(d.domid)</td><td>\(escape(d.name))</td><td>\(escape(d.contextText))</td><td>\(matrix.classOf[i])</td>"
        + "<td>\(d.targetDomid.map { "dom\($0)" } ?? "")</td></tr>"
    }.joined(separator: "\n")
    let asked = "\(n) callers × \(n) targets"
    let moduleControls = "<label>Module <select id=\"module\"></select></label>\n"
      + "<label><input id=\"differs\" type=\"checkbox\"> only ops where modules disagree</label>"
    return head(title) + """
      <p class="lead">\(matrix.rows.count) ops × \(asked) under \(matrix.modules.map(\.rawValue).joined(separator: ", ")); \
      \(matrix.classes.count) classes of interchangeable domains. Pick an op in the overview for its caller × target \
      grid, or a family for a caller × op summary.</p>
      <div class="legend"><b>Legend</b>
      <span><i class="c A">A</i> allowed</span><span><i class="c d">·</i> denied</span>\
      <span><i class="c x">×</i> invalid: Xen refuses the call whatever the module</span>\
      <span><i class="c n"></i> not asked (an op without a target is asked once per caller, in the column “(no target)”)</span>\
      <span><i class="c A one">A</i> the caller's only allowed target, not itself (“1 of N”; hover names it)</span>\
      <span><i class="c p">3</i> in a family summary: allowed on 3 of the targets (<i class="c p">1</i> itself only)</span>\
      <span><i class="c dif">A·A</i> modules disagree (one letter per module: \(matrix.modules.map(\.rawValue).joined(separator: ", ")))</span>\
      <span><span class="one">1</span> in the overview: some caller is allowed on exactly one target (hover names them)</span></div>
      <noscript><p class="warn">The grids and family summaries are drawn by a small script in this page; \
      without it only the overview and the domain list are shown.</p></noscript>
      \(controls(moduleControls))<h2 id="overview">Overview: allowed pairs / asked, per module</h2>
      <div class="scroll"><table class="ov"><thead><tr><th>op</th>\(moduleHeads)<th title="modules disagree">≠</th></tr></thead>
      \(overview)</table></div>
      <details><summary>Domains (\(n)) and their classes</summary>
      <table class="doms"><thead><tr><th>domid</th><th>name</th><th>context</th><th>class</th><th>device model of</th></tr></thead>
      \(domainRows)
      </table></details>

      """ + end(data: data(matrix), script: script)
  }

  /// The start of a page, to its heading: the pages' shared style and `extra`.
  static func head(_ title: String, style extra: String = "") -> String {
    let title = MatrixRendering.escape(title)
    return """
      <!DOCTYPE html>
      <html lang="en"><head><meta charset="utf-8"><title>\(title)</title>
      <meta name="viewport" content="width=device-width">
      <style>\(style)\(extra)</style></head>
      <body><h1>\(title)</h1>

      """
  }

  /// The controls both pages have (family, op name, caller, target), then the page's own, and the view they drive.
  static func controls(_ own: String) -> String {
    """
    <div id="controls" hidden>
    <label>Family <select id="family"><option value="">all</option></select></label>
    <label>Op <input id="filter" type="search" placeholder="name contains…" size="18"></label>
    <label>Caller <select id="caller"><option value="">all</option></select></label>
    <label>Target <select id="target"><option value="">all</option></select></label>
    \(own)
    </div>
    <div id="view"></div>

    """
  }

  /// The rows of an overview grouped by op family: a `tbody` per family, headed by a row `columns` cells wide.
  static func byFamily(_ ops: [String], columns: Int, row: (Int) -> String) -> String {
    let escape = MatrixRendering.escape
    var out = ""
    var family = ""
    for (i, op) in ops.enumerated() {
      let opFamily = String(op.split(separator: ".").first ?? Substring(op))
      if opFamily != family {
        if !family.isEmpty { out += "</tbody>\n" }
        family = opFamily
        out += "<tbody data-family=\"\(escape(family))\"><tr class=\"fam\"><th colspan=\"\(columns)\">\(escape(family))</th></tr>\n"
      }
      out += row(i)
    }
    return family.isEmpty ? out : out + "</tbody>\n"
  }

  /// The end of a page: the data its script draws from, as JSON, and the script.
  static func end(data: some Encodable, script: String) -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    // JSONEncoder writes `/` as `\/`, so the data cannot close its script element.
    let json = (try? encoder.encode(data)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    return """
      <script type="application/json" id="data">\(json)</script>
      <script>\(script)</script>
      </body></html>

      """
  }

  static let style = """
    body{font:14px/1.4 system-ui,sans-serif;margin:1em 1.5em;color:#222}h1{font-size:1.4em;margin:.2em 0}\
    h2{font-size:1.15em;margin:1.2em 0 .4em}p{max-width:70em}.warn{background:#fff3cd;padding:.4em}\
    .legend{display:flex;flex-wrap:wrap;gap:.3em 1.2em;margin:.5em 0;font-size:13px}.legend i{font-style:normal}\
    #controls{position:sticky;top:0;z-index:5;background:#f4f6f8;padding:.4em;border-bottom:1px solid #ccd;\
    display:flex;flex-wrap:wrap;gap:.3em 1em}\
    .scroll{overflow:auto;max-height:80vh;max-width:100%;border:1px solid #ddd;margin-bottom:.8em}\
    table{border-collapse:separate;border-spacing:0}th,td{padding:1px 6px;text-align:left;white-space:nowrap}\
    thead th{position:sticky;top:0;background:#eef;z-index:2}tbody th{position:sticky;left:0;background:#fff;z-index:1}\
    thead th:first-child{left:0;z-index:3}.ov td{text-align:right;font-variant-numeric:tabular-nums}\
    .ov tr.fam th{background:#f4f6f8;position:static;font-size:12px;color:#555}.ov tr.differs td:last-child{color:#b45309}\
    .ov a{text-decoration:none}.inv{color:#777;font-size:12px}\
    .one{display:inline-block;min-width:1.1em;text-align:center;border:2px solid #d97706;border-radius:8px;font-size:11px}\
    .g td,.g th{padding:0;font:12px/18px ui-monospace,monospace}.g td{width:20px;height:20px;min-width:20px;text-align:center;\
    border-right:1px solid #fff;border-bottom:1px solid #fff}\
    .g thead th{writing-mode:vertical-rl;transform:rotate(180deg);padding:4px 0;height:auto;vertical-align:bottom}\
    .g thead th:first-child,.g thead th.h{writing-mode:horizontal-tb;transform:none}.g tbody th{padding:0 6px;border-right:1px solid #ccd}.g td.sum{width:auto;padding:0 6px;text-align:left;color:#555}\
    .c{display:inline-block;width:18px;height:18px;text-align:center;line-height:18px;font:12px/18px ui-monospace,monospace}\
    .A{background:#2e7d32;color:#fff}.d{background:#f3f4f6;color:#9ca3af}\
    .x{background:repeating-linear-gradient(45deg,#bbb 0 3px,#ddd 3px 6px);color:#333}.n{background:#fff;outline:1px dashed #ddd}\
    .A.one,td.one{box-shadow:inset 0 0 0 3px #f59e0b}.dif{background:#fde68a;color:#111;width:auto;min-width:18px;padding:0 2px}\
    .p{background:#a5d6a7}.g td.k{font-size:11px}.doms td{font-family:ui-monospace,monospace;font-size:12px}\
    a.op{color:inherit;text-decoration:none}#view{scroll-margin-top:3.5em}.hl{outline:2px solid #2563eb}
    """

  /// Draws the views from the embedded data; reads the view to show from the URL's fragment (`#op=NAME`, `#family=NAME`).
  static let script = "(function(){\n" + ownScript + "\n" + sharedScript + "\n})();"

  /// The matrix page's own part of its script (see `sharedScript`).
  static let ownScript = #"""
    const D=JSON.parse(document.getElementById('data').textContent),M=D.modules,N=D.domains.length,C=D.classes;
    const cidx=new Map();D.combos.forEach((k,i)=>cidx.set(k,i));
    const word={A:'allowed',d:'denied',x:'invalid','-':'not asked'},sym={A:'A',d:'·',x:'×','-':''};
    const ops=new Map();D.ops.forEach(o=>{let p='';o.v=o.v.map(s=>s===''?p:(p=s));ops.set(o.op,o)});
    function rel(c,t){return c===t?0:D.domains[c].dm===t?1:D.domains[t].dm===c?2:3}
    function at(o,m,c,t){if(!o.targeted)return c===t?o.v[m][c]:'-';
      const d=D.domains,i=cidx.get((d[c].cls*C+d[t].cls)*4+rel(c,t));return i===undefined?'-':o.v[m][i]||'-'}
    function allowedOf(o,m,c){const r=[];let asked=0;for(let t=0;t<N;t++){const v=at(o,m,c,t);if(v!=='-')asked++;if(v==='A')r.push(t)}return{r,asked}}
    function head(cols,extra){return '<thead><tr><th>caller \\ target</th>'+cols.map(t=>t<0?'<th>(no target)</th>':
      '<th title="'+esc(D.domains[t].label+' '+D.domains[t].context)+'">'+esc(nm(t))+'</th>').join('')+(extra||'')+'</tr></thead>'}
    function grid(o,m,rows,cols){
      let h='<div class="scroll"><table class="g">'+head(cols,'<th class="h">allowed on</th>')+'<tbody>';
      for(const c of rows){const {r,asked}=allowedOf(o,m,c),one=asked>1&&r.length===1&&r[0]!==c;
        h+='<tr><th title="'+esc(D.domains[c].label+' '+D.domains[c].context)+'">'+esc(nm(c))+'</th>';
        for(const t of cols){const tt=t<0?c:t,v=at(o,m,c,tt);
          h+='<td class="'+(v==='-'?'n':v)+(one&&v==='A'?' one':'')+'" title="'+esc(nm(c)+' '+o.op+' '+(t<0?'(no target)':nm(tt))+': '+word[v]+' under '+M[m]+(one&&v==='A'?' (its only allowed target)':''))+'">'+sym[v]+'</td>'}
        const s=!o.targeted?(r.length?'allowed':'—'):r.length===0?'none':r.length===asked?'all '+asked:
          r.length<=3?r.length+' of '+asked+': '+r.map(t=>t===c?'itself':nm(t)).join(', '):r.length+' of '+asked;
        h+='<td class="sum'+(one?' one':'')+'" title="'+esc(nm(c)+' '+o.op+' under '+M[m]+': allowed on '+(o.targeted?r.length+' of '+asked+' targets'+(r.length?': '+r.map(nm).join(', '):''):s))+'">'+esc(s)+'</td></tr>'}
      return h+'</tbody></table></div>'}
    function diff(o,rows,cols){let n=0;
      let h='<div class="scroll"><table class="g">'+head(cols)+'<tbody>';
      for(const c of rows){h+='<tr><th>'+esc(nm(c))+'</th>';
        for(const t of cols){const tt=t<0?c:t,vs=M.map((_,m)=>at(o,m,c,tt)),same=vs.every(v=>v===vs[0]);
          if(!same)n++;
          h+=same?'<td class="'+(vs[0]==='-'?'n':vs[0])+'" title="'+esc(nm(c)+' → '+(t<0?'(no target)':nm(tt))+': '+word[vs[0]]+' under every module')+'">'+sym[vs[0]]+'</td>'
            :'<td class="dif" title="'+esc(nm(c)+' → '+(t<0?'(no target)':nm(tt))+': '+M.map((mm,i)=>mm+' '+word[vs[i]]).join(', '))+'">'+vs.map(v=>sym[v]||'-').join('')+'</td>'}
        h+='</tr>'}
      return [n,h+'</tbody></table></div>']}
    function showOp(name){const o=ops.get(name);if(!o)return false;
      const rows=pick('caller'),cols=o.targeted?pick('target'):[-1];
      let h='<h2>'+esc(name)+' <small>(rows: caller, columns: '+(o.targeted?'target':'no target: asked once per caller')+')</small> <a href="#">close</a></h2>';
      if(M.length>1){const [n,g]=diff(o,rows,cols);h+='<h3>Where the modules disagree: '+(n?n+' cell'+(n>1?'s':''):'nowhere')+'</h3>'+(n?g:'')}
      M.forEach((mm,m)=>{h+='<h3>Under '+esc(mm)+'</h3>'+grid(o,m,rows,cols)});
      $('view').innerHTML=h;return true}
    function showFamily(f){const m=+$('module').value,rows=pick('caller'),t=$('target').value;
      const list=D.ops.filter(o=>fam(o.op)===f&&visible(o));
      let h='<h2>'+esc(f)+' under '+esc(M[m])+' <small>(rows: caller; a cell: on how many targets'+(t===''?'':' — target '+esc(nm(+t))+' only')+'; click an op for its grid)</small> <a href="#">close</a></h2><div class="scroll"><table class="g"><thead><tr><th>caller \\ op</th>'+
        list.map(o=>'<th><a class="op" href="#op='+esc(o.op)+'">'+esc(o.op.slice(f.length+1))+(o.targeted?'':' (no target)')+'</a></th>').join('')+'</tr></thead><tbody>';
      for(const c of rows){h+='<tr><th>'+esc(nm(c))+'</th>';
        for(const o of list){let r,asked;
          if(t!==''&&o.targeted){const v=at(o,m,c,+t);r=v==='A'?[+t]:[];asked=v==='-'?0:1}else({r,asked}=allowedOf(o,m,c));
          const inv=o.targeted?D.domains.every((_,u)=>{const v=at(o,m,c,u);return v==='x'||v==='-'}):at(o,m,c,c)==='x';
          let cls,txt,tip;
          if(asked===0){cls='n';txt='';tip='not asked'}
          else if(inv){cls='x';txt='×';tip='invalid on every target'}
          else if(!o.targeted||asked===1){cls=r.length?'A':'d';txt=r.length?'A':'·';tip=(r.length?'allowed':'denied')+(o.targeted?' on '+nm(r[0]!==undefined?r[0]:+t):' (no target)')}
          else if(r.length===0){cls='d';txt='·';tip='allowed on none of '+asked}
          else if(r.length===asked){cls='A';txt='A';tip='allowed on all '+asked+' targets'}
          else if(r.length===1){cls=r[0]===c?'p':'A one';txt='1';tip='allowed on 1 of '+asked+' targets: '+(r[0]===c?'itself':nm(r[0]))}
          else{cls='p k';txt=String(r.length);tip='allowed on '+r.length+' of '+asked+' targets: '+r.map(u=>u===c?'itself':nm(u)).join(', ')}
          h+='<td class="'+cls+'" title="'+esc(nm(c)+' '+o.op+': '+tip)+'">'+txt+'</td>'}
        h+='</tr>'}
      $('view').innerHTML=h+'</tbody></table></div>';return true}
    function visible(o){const q=$('filter').value.trim(),f=$('family').value;
      if(f&&fam(o.op)!==f)return false;if(q&&!o.op.includes(q))return false;
      if($('differs').checked&&!(M.length>1&&o.v.some(s=>s!==o.v[0])))return false;return true}
    $('module').innerHTML=M.map((m,i)=>opt(i,m)).join('');$('module').value=String(M.length-1);
    ['filter','differs'].forEach(id=>$(id).oninput=()=>{filter();route()});
    ['caller','target','module'].forEach(id=>$(id).onchange=()=>route());
    """#

  /// What the scripts of the matrix page and of the diff page (`DiffHTML`)
  /// share: helpers, the overview's filter, the view named by the URL's
  /// fragment (`#op=NAME`, `#family=NAME`) and the controls. The page's own
  /// part defines `D` (the data), `ops` (by name), `visible(op)`,
  /// `showOp(name)` and `showFamily(name)`, and hooks its own controls.
  static let sharedScript = #"""
    function fam(o){return o.split('.')[0]}
    function $(id){return document.getElementById(id)}
    function esc(s){return String(s).replace(/[&<>"]/g,c=>'&#'+c.charCodeAt(0)+';')}
    function nm(i){return D.domains[i].name}
    function opt(v,t){return '<option value="'+esc(v)+'">'+esc(t)+'</option>'}
    function pick(sel){const v=$(sel).value;return v===''?D.domains.map((_,i)=>i):[+v]}
    function filter(){document.querySelectorAll('.ov tbody').forEach(b=>{let any=false;
      b.querySelectorAll('tr[data-op]').forEach(tr=>{const s=visible(ops.get(tr.dataset.op));tr.hidden=!s;any=any||s});b.hidden=!any})}
    function route(jump){const h=decodeURIComponent(location.hash.slice(1));
      if(h.startsWith('family='))$('family').value=h.slice(7);
      const shown=h.startsWith('op=')?showOp(h.slice(3)):h.startsWith('family=')?showFamily(h.slice(7)):false;
      if(!shown)$('view').innerHTML='';else if(jump)$('view').scrollIntoView()}
    $('family').innerHTML+=[...new Set(D.ops.map(o=>fam(o.op)))].map(f=>opt(f,f)).join('');
    $('caller').innerHTML+=D.domains.map((d,i)=>opt(i,d.label)).join('');$('target').innerHTML=$('caller').innerHTML;
    document.querySelectorAll('.ov tr.fam th').forEach(th=>{th.innerHTML='<a href="#family='+esc(th.textContent)+'">'+esc(th.textContent)+'</a> <small>caller × op summary</small>'});
    $('family').onchange=()=>{filter();const f=$('family').value;location.hash=f?'family='+f:''};
    window.onhashchange=()=>route(true);$('controls').hidden=false;route();filter();
    """#
}
