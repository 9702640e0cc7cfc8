package engine

// automaton is an Aho-Corasick automaton over folded bytes. Bytes that
// occur in no needle share byte class 0.
//
// The shallowest states (the root first, breadth first, as many as
// denseCells allows) have dense rows of complete transitions: one load per
// input byte, as in a DFA. The deeper states, most of a large needle set's
// trie but few of the states a scan visits, keep only their trie edges and
// a failure link. A full table for SigmaHQ's CommandLine needles was
// 56,000 states x 150 classes, 33 MB: building it was most of a rule
// load, and scanning it missed the cache on almost every byte.
type automaton struct {
	cls  [256]uint8
	ncls int
	// next holds the dense states' rows: next[ref+c] is the ref of the
	// state after class c.
	next   []int32
	ndense int32
	// Sparse state i (state id ndense+i) has the trie edges
	// edges[sparse[i].lo:sparse[i+1].lo] and the failure link
	// sparse[i].fail; a final entry closes the last range.
	sparse []sparseState
	edges  []sparseEdge
	// Per state id: own outputs are outs[outStart[s]:outEnd[s]]; dict[s]
	// is the nearest proper suffix state that has outputs (or -1).
	outStart []int32
	outEnd   []int32
	outs     []int32
	dict     []int32
}

type sparseState struct {
	lo   int32 // first edge
	fail int32 // ref of the longest proper suffix state
}

type sparseEdge struct {
	c  uint8
	to int32 // ref
}

// A ref names a state in a scan: for a dense state the offset of its row
// in next (id x ncls), for a sparse one sparseRef plus its index in
// sparse. termBit is added when the state or one of its suffixes has
// outputs, so a scan learns it from the transition it already loaded.
const (
	termBit   = -1 << 31
	sparseRef = 1 << 30
)

// denseCells bounds the dense rows of one automaton (int32 cells): 1 MiB,
// enough for every state of all but the largest needle sets.
const denseCells = 1 << 18

// maxAutomatonCells bounds one field's needle bytes (x 257) so a
// pathological rule set cannot exhaust memory; beyond it the field is not
// prefiltered.
const maxAutomatonCells = 1 << 28

// newAutomaton builds the automaton; ids[i] is reported when needles[i] is
// found.
func newAutomaton(needles []string, ids []int32) *automaton {
	return buildAutomaton(needles, ids, denseCells)
}

// buildAutomaton is newAutomaton with the dense rows bounded by maxDense
// cells (at least the root's row is dense).
func buildAutomaton(needles []string, ids []int32, maxDense int) *automaton {
	a := &automaton{}
	var used [256]bool
	for _, n := range needles {
		for i := 0; i < len(n); i++ {
			used[n[i]] = true
		}
	}
	a.ncls = 1
	for b := 0; b < 256; b++ {
		if used[b] {
			a.cls[b] = uint8(a.ncls)
			a.ncls++
		}
	}
	if a.ncls > 256 {
		// 256 distinct bytes plus the "other" class cannot fit uint8;
		// fold the rarest case (every byte used) by giving up class 0.
		a.ncls = 256
		for b := 0; b < 256; b++ {
			a.cls[b] = uint8(b)
		}
	}
	nc := a.ncls

	// The trie, sparse: node 0 is the root, nodes are numbered as
	// created. edgeOf finds a node's child while building.
	type edge struct {
		s int32
		c uint8
	}
	edgeOf := make(map[edge]int32)
	var parent []int32 // per node but the root: its parent and class
	var pcls []uint8
	own := [][]int32{nil}
	for i, n := range needles {
		s := int32(0)
		for j := 0; j < len(n); j++ {
			e := edge{s, a.cls[n[j]]}
			t, ok := edgeOf[e]
			if !ok {
				t = int32(len(own))
				edgeOf[e] = t
				parent = append(parent, s)
				pcls = append(pcls, e.c)
				own = append(own, nil)
			}
			s = t
		}
		own[s] = append(own[s], ids[i])
	}
	ns := len(own)
	// Children lists, in creation order, by counting sort on the parent.
	first := make([]int32, ns+1)
	for _, p := range parent {
		first[p+1]++
	}
	for s := 0; s < ns; s++ {
		first[s+1] += first[s]
	}
	kids := make([]int32, len(parent))
	fill := append([]int32(nil), first[:ns]...)
	for k, p := range parent {
		kids[fill[p]] = int32(k + 1) // node k+1 is the k-th created
		fill[p]++
	}
	// Breadth-first order: any prefix of it holds every failure target
	// of its states (a suffix is shorter), so the first ndense states can
	// have complete rows computed from earlier rows only.
	bfs := make([]int32, 1, ns)
	for qi := 0; qi < len(bfs); qi++ {
		u := bfs[qi]
		bfs = append(bfs, kids[first[u]:first[u+1]]...)
	}
	ndense := min(ns, max(1, maxDense/nc))
	a.ndense = int32(ndense)
	// State ids: the dense states in breadth-first order, then the sparse
	// ones in creation order, so a needle's tail is contiguous.
	id := make([]int32, ns)
	isDense := make([]bool, ns)
	for i, u := range bfs[:ndense] {
		id[u] = int32(i)
		isDense[u] = true
	}
	next := int32(ndense)
	for u := 0; u < ns; u++ {
		if !isDense[u] {
			id[u] = next
			next++
		}
	}
	ref := func(u int32) int32 {
		if isDense[u] {
			return id[u] * int32(nc)
		}
		return sparseRef | (id[u] - int32(ndense))
	}
	// child finds node u's child on class c (or -1).
	child := func(u int32, c uint8) int32 {
		for _, t := range kids[first[u]:first[u+1]] {
			if pcls[t-1] == c {
				return t
			}
		}
		return -1
	}
	// Failure and dictionary links in breadth-first order, and each dense
	// state's row when it is reached (by node until the end, then as
	// refs): a row is its failure state's row with its own edges over it.
	term := make([]bool, ns)
	fail := make([]int32, ns)
	dictN := make([]int32, ns)
	dictN[0] = -1
	a.next = make([]int32, ndense*nc) // 0: the root
	for qi, u := range bfs {
		if u != 0 {
			if p, c := parent[u-1], pcls[u-1]; p != 0 {
				// The complete transition from fail[p] on c.
				f, t := fail[p], int32(-1)
				for !isDense[f] {
					if t = child(f, c); t >= 0 {
						break
					}
					f = fail[f]
				}
				if t < 0 {
					t = a.next[int(id[f])*nc+int(c)]
				}
				fail[u] = t
			}
			if f := fail[u]; len(own[f]) > 0 {
				dictN[u] = f
			} else {
				dictN[u] = dictN[f]
			}
		}
		term[u] = len(own[u]) > 0 || dictN[u] >= 0
		if qi < ndense {
			row := a.next[qi*nc : (qi+1)*nc]
			if u != 0 {
				f := int(id[fail[u]])
				copy(row, a.next[f*nc:(f+1)*nc])
			}
			for _, t := range kids[first[u]:first[u+1]] {
				row[pcls[t-1]] = t
			}
		}
	}
	refTerm := func(u int32) int32 {
		if term[u] {
			return ref(u) | termBit
		}
		return ref(u)
	}
	for i, u := range a.next {
		a.next[i] = refTerm(u)
	}
	a.sparse = make([]sparseState, ns-ndense+1)
	a.edges = make([]sparseEdge, 0, ns-ndense)
	for i, u := range byID(id, ns)[ndense:] {
		a.sparse[i] = sparseState{lo: int32(len(a.edges)), fail: ref(fail[u])}
		for _, t := range kids[first[u]:first[u+1]] {
			a.edges = append(a.edges, sparseEdge{c: pcls[t-1], to: refTerm(t)})
		}
	}
	a.sparse[ns-ndense].lo = int32(len(a.edges))
	// Outputs and dictionary links by state id.
	a.outStart = make([]int32, ns)
	a.outEnd = make([]int32, ns)
	a.dict = make([]int32, ns)
	for s, u := range byID(id, ns) {
		a.outStart[s] = int32(len(a.outs))
		a.outs = append(a.outs, own[u]...)
		a.outEnd[s] = int32(len(a.outs))
		if d := dictN[u]; d >= 0 {
			a.dict[s] = id[d]
		} else {
			a.dict[s] = -1
		}
	}
	return a
}

// byID inverts id: the node of every state id.
func byID(id []int32, ns int) []int32 {
	out := make([]int32, ns)
	for u := range ns {
		out[id[u]] = int32(u)
	}
	return out
}

// scan feeds h through the automaton and reports every needle found.
func (sc *scratch) scan(a *automaton, h string) {
	next := a.next
	cls := &a.cls
	cur := int32(0)
	for i := 0; i < len(h); i++ {
		c := int32(cls[h[i]])
		var v int32
		if cur&sparseRef == 0 {
			v = next[cur+c]
		} else {
			v = a.sparseStep(cur, c)
		}
		cur = v &^ termBit
		if v < 0 {
			for t := a.stateID(cur); t >= 0; t = a.dict[t] {
				for _, id := range a.outs[a.outStart[t]:a.outEnd[t]] {
					sc.hit(id)
				}
			}
		}
	}
}

// sparseStep is the transition from the sparse state cur on class c: its
// trie edge, else its failure state's transition.
func (a *automaton) sparseStep(cur, c int32) int32 {
	for cur&sparseRef != 0 {
		i := cur &^ sparseRef
		for _, e := range a.edges[a.sparse[i].lo:a.sparse[i+1].lo] {
			if int32(e.c) == c {
				return e.to
			}
		}
		cur = a.sparse[i].fail
	}
	return a.next[cur+c]
}

// stateID is the state a ref (without termBit) names.
func (a *automaton) stateID(ref int32) int32 {
	if ref&sparseRef != 0 {
		return a.ndense + ref&^sparseRef
	}
	return ref / int32(a.ncls)
}

func (sc *scratch) hit(id int32) {
	if sc.needleGen[id] == sc.gen {
		return
	}
	sc.needleGen[id] = sc.gen
	for _, r := range sc.rs.pf.needleRules[id] {
		if sc.candGen[r] != sc.gen {
			sc.candGen[r] = sc.gen
			sc.cands = append(sc.cands, r)
		}
	}
}
