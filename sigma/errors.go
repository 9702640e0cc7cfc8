package sigma

import (
	"fmt"
	"strconv"
	"strings"
)

// Pos is a location in a rule file. Line and Col are 1-based; zero means
// unknown (e.g. a YAML syntax error the decoder could not place).
type Pos struct {
	File string
	Line int
	Col  int
}

func (p Pos) String() string {
	var b strings.Builder
	if p.File != "" {
		b.WriteString(p.File)
	} else {
		b.WriteString("<input>")
	}
	if p.Line > 0 {
		b.WriteByte(':')
		b.WriteString(strconv.Itoa(p.Line))
		if p.Col > 0 {
			b.WriteByte(':')
			b.WriteString(strconv.Itoa(p.Col))
		}
	}
	return b.String()
}

// Error is a problem found in a rule file, rendered "file:line:col: message"
// so that editors and CI logs can jump straight to it.
type Error struct {
	Pos Pos
	Msg string
	// Err is the underlying cause, if any (e.g. a regexp compile error).
	Err error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Pos, e.Msg, e.Err)
	}
	return e.Pos.String() + ": " + e.Msg
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf builds an *Error at pos. It is exported so that later stages (the
// engine's compiler) report problems in exactly the same shape.
func Errorf(pos Pos, format string, args ...any) *Error {
	return &Error{Pos: pos, Msg: fmt.Sprintf(format, args...)}
}

// ErrorList collects several independent problems (one per bad document or
// file). It implements error and unwraps to its members for errors.Is/As.
type ErrorList []error

func (l ErrorList) Error() string {
	switch len(l) {
	case 0:
		return "no errors"
	case 1:
		return l[0].Error()
	}
	var b strings.Builder
	for i, e := range l {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(e.Error())
	}
	return b.String()
}

func (l ErrorList) Unwrap() []error { return l }

// Err returns nil for an empty list so callers can `return list.Err()`
// without handing back a non-nil interface holding an empty slice.
func (l ErrorList) Err() error {
	if len(l) == 0 {
		return nil
	}
	return l
}
