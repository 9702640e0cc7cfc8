package adapt

import (
	"reflect"
	"testing"
	"unsafe"

	"github.com/tripline/tripline/contract"
)

// TestKeepOwnsItsMemory fills every string, slice and pointer of an event
// (found by reflection, so a field added to contract.Event is covered)
// from one buffer, keeps it, overwrites the buffer, and requires the kept
// copy to be unchanged.
func TestKeepOwnsItsMemory(t *testing.T) {
	buf := []byte("abcdefghijklmnopqrstuvwxyz")
	text := func(i int) string { return unsafe.String(&buf[i%20], 5) }
	var ev contract.Event
	n := 0
	var fill func(v reflect.Value)
	fill = func(v reflect.Value) {
		switch v.Kind() {
		case reflect.String:
			v.SetString(text(n))
			n++
		case reflect.Struct:
			if v.Type() == reflect.TypeOf(ev.Time) {
				return
			}
			for i := range v.NumField() {
				if v.Type().Field(i).IsExported() {
					fill(v.Field(i))
				}
			}
		case reflect.Pointer:
			if v.Type().Elem().Kind() == reflect.Struct {
				return // Context: adapters set none, Keep shares it
			}
			v.Set(reflect.New(v.Type().Elem()))
			fill(v.Elem())
		case reflect.Slice:
			v.Set(reflect.MakeSlice(v.Type(), 2, 2))
			fill(v.Index(0))
			fill(v.Index(1))
		case reflect.Map:
			v.Set(reflect.MakeMap(v.Type()))
			v.SetMapIndex(reflect.ValueOf(text(n)), reflect.ValueOf(text(n+1)))
			n += 2
		case reflect.Int64:
			v.SetInt(int64(n))
			n++
		case reflect.Bool:
			v.SetBool(true)
		}
	}
	fill(reflect.ValueOf(&ev).Elem())
	want := deepCopy(&ev)
	kept := Keep(&ev)
	if !reflect.DeepEqual(kept, want) {
		t.Fatalf("Keep changed the event:\n%+v\nwant\n%+v", kept, want)
	}
	for i := range buf {
		buf[i] = '#'
	}
	*ev.Actor.ASN, *ev.Actor.MFA = -1, false
	if !reflect.DeepEqual(kept, want) {
		t.Fatalf("the kept event changed with the original's memory:\n%+v\nwant\n%+v", kept, want)
	}
}

// deepCopy copies ev through reflection, strings included, for the test
// to compare Keep with.
func deepCopy(ev *contract.Event) *contract.Event {
	var cp func(dst, src reflect.Value)
	cp = func(dst, src reflect.Value) {
		switch src.Kind() {
		case reflect.String:
			dst.SetString(string([]byte(src.String())))
		case reflect.Struct:
			if src.Type() == reflect.TypeOf(ev.Time) {
				dst.Set(src)
				return
			}
			for i := range src.NumField() {
				if src.Type().Field(i).IsExported() {
					cp(dst.Field(i), src.Field(i))
				}
			}
		case reflect.Pointer:
			if src.IsNil() || src.Type().Elem().Kind() == reflect.Struct {
				dst.Set(src)
				return
			}
			dst.Set(reflect.New(src.Type().Elem()))
			cp(dst.Elem(), src.Elem())
		case reflect.Slice:
			if src.IsNil() {
				return
			}
			dst.Set(reflect.MakeSlice(src.Type(), src.Len(), src.Len()))
			for i := range src.Len() {
				cp(dst.Index(i), src.Index(i))
			}
		case reflect.Map:
			if src.IsNil() {
				return
			}
			dst.Set(reflect.MakeMap(src.Type()))
			for it := src.MapRange(); it.Next(); {
				k, v := reflect.New(src.Type().Key()).Elem(), reflect.New(src.Type().Elem()).Elem()
				cp(k, it.Key())
				cp(v, it.Value())
				dst.SetMapIndex(k, v)
			}
		default:
			dst.Set(src)
		}
	}
	var c contract.Event
	cp(reflect.ValueOf(&c).Elem(), reflect.ValueOf(ev).Elem())
	return &c
}
