package engine

// automaton is an Aho-Corasick DFA over folded bytes. Transitions are a
// dense table indexed by byte class (bytes that occur in no needle share
// class 0), which keeps the table small while scanning stays one load per
// input byte.
type automaton struct {
	cls  [256]uint8
	ncls int
	next []int32
	// Per state: own outputs are outs[outStart[s]:outEnd[s]]; dict[s] is
	// the nearest proper suffix state that has outputs (or -1); term[s]
	// says whether s or any suffix has outputs.
	outStart []int32
	outEnd   []int32
	outs     []int32
	dict     []int32
	term     []bool
}

// newAutomaton builds the automaton; ids[i] is reported when needles[i] is
// found.
func newAutomaton(needles []string, ids []int32) *automaton {
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
	// The trie is built sparse first and the dense table allocated once at
	// its final size: growing a states x classes table by appending row
	// after row copied it over and over (most of a SigmaHQ load's time).
	type edge struct {
		s int32
		c uint8
	}
	edges := make(map[edge]int32)
	// order lists the edges as created: states are numbered in that
	// order, so filling the table from it writes it front to back, where
	// the map's order scattered the writes over it.
	var order []edge
	own := [][]int32{nil}
	for i, n := range needles {
		s := int32(0)
		for j := 0; j < len(n); j++ {
			e := edge{s, a.cls[n[j]]}
			t, ok := edges[e]
			if !ok {
				t = int32(len(own))
				edges[e] = t
				order = append(order, e)
				own = append(own, nil)
			}
			s = t
		}
		own[s] = append(own[s], ids[i])
	}
	// 0 marks a missing edge until the row is completed below: no trie
	// edge leads back to the root, and not filling the table with another
	// marker spares a pass over it.
	a.next = make([]int32, len(own)*nc)
	for i, e := range order {
		a.next[int(e.s)*nc+int(e.c)] = int32(i + 1) // state i+1 is the i-th edge's target
	}
	ns := len(own)
	fail := make([]int32, ns)
	a.dict = make([]int32, ns)
	a.term = make([]bool, ns)
	a.outStart = make([]int32, ns)
	a.outEnd = make([]int32, ns)
	for s := 0; s < ns; s++ {
		a.outStart[s] = int32(len(a.outs))
		a.outs = append(a.outs, own[s]...)
		a.outEnd[s] = int32(len(a.outs))
	}
	queue := make([]int32, 0, ns)
	a.dict[0] = -1
	for c := 0; c < nc; c++ {
		t := a.next[c]
		if t == 0 {
			continue
		}
		fail[t] = 0
		a.dict[t] = -1
		queue = append(queue, t)
	}
	for qi := 0; qi < len(queue); qi++ {
		u := queue[qi]
		for c := 0; c < nc; c++ {
			t := a.next[int(u)*nc+c]
			if t == 0 {
				a.next[int(u)*nc+c] = a.next[int(fail[u])*nc+c]
				continue
			}
			f := a.next[int(fail[u])*nc+c]
			fail[t] = f
			if len(own[f]) > 0 {
				a.dict[t] = f
			} else {
				a.dict[t] = a.dict[f]
			}
			queue = append(queue, t)
		}
	}
	for s := 0; s < ns; s++ {
		a.term[s] = len(own[s]) > 0 || a.dict[s] >= 0
	}
	// Pre-multiply targets by the row width and fold the output flag into
	// the sign bit: scanning then costs one dependent load per byte.
	for i, t := range a.next {
		v := t * int32(nc)
		if a.term[t] {
			v |= termBit
		}
		a.next[i] = v
	}
	return a
}

const termBit = -1 << 31

// maxAutomatonCells bounds one automaton's table (states x classes) so a
// pathological rule set cannot exhaust memory; beyond it the field is not
// prefiltered.
const maxAutomatonCells = 1 << 28

// scan feeds h through the automaton and reports every needle found.
func (sc *scratch) scan(a *automaton, h string) {
	off := int32(0)
	next := a.next
	cls := &a.cls
	nc := int32(a.ncls)
	for i := 0; i < len(h); i++ {
		v := next[off+int32(cls[h[i]])]
		off = v &^ termBit
		if v < 0 {
			for t := off / nc; t >= 0; t = a.dict[t] {
				for _, id := range a.outs[a.outStart[t]:a.outEnd[t]] {
					sc.hit(id)
				}
			}
		}
	}
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
