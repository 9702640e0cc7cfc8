package fields

// Kind says which member of a Value is meaningful.
type Kind uint8

const (
	// Absent means the path does not exist in the event.
	Absent Kind = iota
	// Null is an explicit JSON null.
	Null
	String
	Number
	Bool
	// Strings is a list whose elements are all strings (Value.Strs).
	Strings
	// List is a list of arbitrary values (Value.List).
	List
	// Object is a nested object; rules can test its existence only.
	Object
)

func (k Kind) String() string {
	switch k {
	case Absent:
		return "absent"
	case Null:
		return "null"
	case String:
		return "string"
	case Number:
		return "number"
	case Bool:
		return "bool"
	case Strings:
		return "strings"
	case List:
		return "list"
	case Object:
		return "object"
	}
	return "unknown"
}

// Value is one field's value. It is a plain struct rather than an interface
// so that looking a field up on the hot path never allocates.
type Value struct {
	Kind Kind
	Str  string
	Num  float64
	Bool bool
	Strs []string
	List []Value
}

// Exists reports whether the field is present (null counts as present).
func (v Value) Exists() bool { return v.Kind != Absent }

// Str returns a String value.
func Str(s string) Value { return Value{Kind: String, Str: s} }

// Num returns a Number value.
func Num(n float64) Value { return Value{Kind: Number, Num: n} }

// Boolean returns a Bool value.
func Boolean(b bool) Value { return Value{Kind: Bool, Bool: b} }

// Logsource names where an event comes from, in Sigma's terms. The zero
// Logsource means "unknown": every rule sees such an event.
type Logsource struct {
	Product  string
	Category string
	Service  string
}

// Source is an event as the rule engine reads it.
type Source interface {
	// Lookup resolves a dotted path. It returns a Value of Kind Absent when
	// the path does not exist.
	Lookup(path string) Value
	// EachString calls fn with every string value in the event (including
	// strings inside lists) until fn returns false. Keyword (field-less)
	// searches use it.
	EachString(fn func(s string) bool)
	// Logsource tells which family of rules applies.
	Logsource() Logsource
}
