package weights

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/big"
	"strconv"
)

// This file is a restricted unpickler: the binary opcodes of pickle
// protocols 2 to 5 that torch.save and its Python 3 pickler emit. It builds
// plain Go values and never runs code: GLOBAL and STACK_GLOBAL resolve
// names through the caller's allow-list, persistent ids through the caller's
// persistentLoad. Every length read from the input is checked against the
// bytes that remain before anything is allocated, so malformed input gives
// an error, never a panic or an outsized allocation.
//
// Python values map to Go values as follows:
//
//	None → nil, bool → bool, int → int64 or *big.Int, float → float64,
//	str → string, bytes/bytearray → []byte, tuple → pyTuple,
//	list, set, frozenset → *pyList, dict → *pyDict,
//	an allow-listed global → whatever resolve returns (a *pyCallable for
//	classes and functions).

type pyTuple []any

type pyList struct{ items []any }

// pyDict is an insertion-ordered dict. Keys are restricted to hashable
// scalars: str, int, bool, float, None.
type pyDict struct {
	keys  []any
	vals  []any
	index map[any]int
}

func newDict() *pyDict { return &pyDict{index: map[any]int{}} }

func (d *pyDict) set(k, v any) error {
	switch kk := k.(type) {
	case nil, bool, int64, float64, string:
	case *big.Int:
		k = bigKey(kk.Text(16))
	default:
		return fmt.Errorf("unsupported dict key of type %s", pyType(k))
	}
	if i, ok := d.index[k]; ok {
		d.vals[i] = v
		return nil
	}
	d.index[k] = len(d.keys)
	d.keys = append(d.keys, k)
	d.vals = append(d.vals, v)
	return nil
}

func (d *pyDict) get(k string) (any, bool) {
	i, ok := d.index[k]
	if !ok {
		return nil, false
	}
	return d.vals[i], true
}

type bigKey string

// pyCallable is an allow-listed class or function. REDUCE calls call;
// NEWOBJ calls newObj, which may be nil; BUILD on an object it made calls
// build, which may be nil (BUILD is then an error).
type pyCallable struct {
	name   string
	call   func(args pyTuple) (any, error)
	newObj func(args pyTuple) (any, error)
}

// pyType names the Python type of a decoded value for error messages.
func pyType(v any) string {
	switch v := v.(type) {
	case nil:
		return "None"
	case bool:
		return "bool"
	case int64, *big.Int:
		return "int"
	case float64:
		return "float"
	case string:
		return "str"
	case []byte:
		return "bytes"
	case pyTuple:
		return "tuple"
	case *pyList:
		return "list"
	case *pyDict:
		return "dict"
	case *pyCallable:
		return v.name
	case *torchTensor:
		return "torch.Tensor"
	case *torchStorageType:
		return "torch." + v.name
	case *storageSlice:
		return "torch storage"
	}
	return fmt.Sprintf("%T", v)
}

// pyRepr formats a decoded value for an error message, briefly: containers
// show only their type and length (a pickle can build a DAG whose full
// printout is exponentially long).
func pyRepr(v any) string {
	switch v := v.(type) {
	case nil:
		return "None"
	case bool:
		if v {
			return "True"
		}
		return "False"
	case int64:
		return strconv.FormatInt(v, 10)
	case *big.Int:
		if v.BitLen() <= 128 {
			return v.String()
		}
		return fmt.Sprintf("<int of %d bits>", v.BitLen())
	case float64:
		return strconv.FormatFloat(v, 'g', -1, 64)
	case string:
		if len(v) > 40 {
			return strconv.Quote(v[:40]) + "..."
		}
		return strconv.Quote(v)
	case []byte:
		return fmt.Sprintf("<bytes of length %d>", len(v))
	case pyTuple:
		return fmt.Sprintf("<tuple of length %d>", len(v))
	case *pyList:
		return fmt.Sprintf("<list of length %d>", len(v.items))
	case *pyDict:
		return fmt.Sprintf("<dict of length %d>", len(v.keys))
	}
	return "<" + pyType(v) + ">"
}

// Opcodes.
const (
	opMark           = '('
	opStop           = '.'
	opPop            = '0'
	opPopMark        = '1'
	opDup            = '2'
	opBinInt         = 'J'
	opBinInt1        = 'K'
	opBinInt2        = 'M'
	opNone           = 'N'
	opPersID         = 'P'
	opBinPersID      = 'Q'
	opReduce         = 'R'
	opBinString      = 'T'
	opShortBinString = 'U'
	opBinUnicode     = 'X'
	opAppend         = 'a'
	opBuild          = 'b'
	opGlobal         = 'c'
	opDict           = 'd'
	opEmptyDict      = '}'
	opAppends        = 'e'
	opBinGet         = 'h'
	opLongBinGet     = 'j'
	opList           = 'l'
	opEmptyList      = ']'
	opBinPut         = 'q'
	opLongBinPut     = 'r'
	opSetItem        = 's'
	opTuple          = 't'
	opEmptyTuple     = ')'
	opSetItems       = 'u'
	opBinFloat       = 'G'
	opBinBytes       = 'B'
	opShortBinBytes  = 'C'
	// protocol 2
	opProto    = 0x80
	opNewObj   = 0x81
	opTuple1   = 0x85
	opTuple2   = 0x86
	opTuple3   = 0x87
	opNewTrue  = 0x88
	opNewFalse = 0x89
	opLong1    = 0x8a
	opLong4    = 0x8b
	// protocol 4
	opShortBinUnicode = 0x8c
	opBinUnicode8     = 0x8d
	opBinBytes8       = 0x8e
	opEmptySet        = 0x8f
	opAddItems        = 0x90
	opFrozenSet       = 0x91
	opNewObjEx        = 0x92
	opStackGlobal     = 0x93
	opMemoize         = 0x94
	opFrame           = 0x95
	// protocol 5
	opByteArray8 = 0x96
)

type unpickler struct {
	data  []byte
	pos   int
	stack []any
	marks []int
	memo  map[uint64]any

	// resolve returns the value of the global module.name, or an error if
	// it is not allowed.
	resolve func(module, name string) (any, error)
	// persistentLoad returns the object for a persistent id; nil means
	// persistent ids are not allowed.
	persistentLoad func(pid any) (any, error)
	// build applies BUILD's state to obj; nil means BUILD is not allowed.
	build func(obj, state any) error
}

// PickleError is an unpickling failure at a byte offset of the pickle.
type pickleError struct {
	pos int
	msg string
}

func (e *pickleError) Error() string { return fmt.Sprintf("pickle offset %d: %s", e.pos, e.msg) }

func (u *unpickler) errf(pos int, format string, args ...any) error {
	return &pickleError{pos, fmt.Sprintf(format, args...)}
}

// take returns the next n bytes, or an error if fewer remain.
func (u *unpickler) take(n uint64, what string) ([]byte, error) {
	if rem := uint64(len(u.data) - u.pos); n > rem {
		return nil, u.errf(u.pos, "truncated %s: need %d bytes, have %d", what, n, rem)
	}
	b := u.data[u.pos : u.pos+int(n)]
	u.pos += int(n)
	return b, nil
}

func (u *unpickler) push(v any) { u.stack = append(u.stack, v) }

func (u *unpickler) floor() int {
	if len(u.marks) == 0 {
		return 0
	}
	return u.marks[len(u.marks)-1]
}

func (u *unpickler) pop(pos int) (any, error) {
	if len(u.stack) <= u.floor() {
		return nil, u.errf(pos, "stack underflow")
	}
	v := u.stack[len(u.stack)-1]
	u.stack = u.stack[:len(u.stack)-1]
	return v, nil
}

func (u *unpickler) top(pos int) (any, error) {
	if len(u.stack) <= u.floor() {
		return nil, u.errf(pos, "stack underflow")
	}
	return u.stack[len(u.stack)-1], nil
}

// popMark pops everything down to the last MARK and the mark itself.
func (u *unpickler) popMark(pos int) ([]any, error) {
	if len(u.marks) == 0 {
		return nil, u.errf(pos, "no MARK on the stack")
	}
	m := u.marks[len(u.marks)-1]
	u.marks = u.marks[:len(u.marks)-1]
	items := append([]any(nil), u.stack[m:]...)
	u.stack = u.stack[:m]
	return items, nil
}

// popN pops n items, returning them in stack order.
func (u *unpickler) popN(pos, n int) ([]any, error) {
	if len(u.stack)-u.floor() < n {
		return nil, u.errf(pos, "stack underflow")
	}
	items := append([]any(nil), u.stack[len(u.stack)-n:]...)
	u.stack = u.stack[:len(u.stack)-n]
	return items, nil
}

func (u *unpickler) line(pos int) (string, error) {
	for i := u.pos; i < len(u.data); i++ {
		if u.data[i] == '\n' {
			s := string(u.data[u.pos:i])
			u.pos = i + 1
			return s, nil
		}
	}
	return "", u.errf(pos, "truncated: unterminated line")
}

// load runs the pickle that starts at u.pos up to its STOP opcode and
// returns the object it builds. u.pos is left just after STOP, so several
// pickles stored back to back can be read in turn.
func (u *unpickler) load() (any, error) {
	u.stack, u.marks = u.stack[:0], u.marks[:0]
	if u.memo == nil {
		u.memo = map[uint64]any{}
	}
	clear(u.memo)
	for {
		if u.pos >= len(u.data) {
			return nil, u.errf(u.pos, "truncated: no STOP opcode")
		}
		pos := u.pos
		op := u.data[u.pos]
		u.pos++
		if err := u.step(pos, op); err != nil {
			if err == errStop {
				if len(u.stack) != 1 || len(u.marks) != 0 {
					return nil, u.errf(pos, "STOP with %d values and %d marks on the stack, want 1 and 0", len(u.stack), len(u.marks))
				}
				return u.stack[0], nil
			}
			return nil, err
		}
	}
}

var errStop = fmt.Errorf("STOP")

func (u *unpickler) step(pos int, op byte) error {
	switch op {
	case opProto:
		b, err := u.take(1, "PROTO")
		if err != nil {
			return err
		}
		if b[0] > 5 {
			return u.errf(pos, "unsupported pickle protocol %d", b[0])
		}
	case opFrame:
		b, err := u.take(8, "FRAME")
		if err != nil {
			return err
		}
		if n, rem := binary.LittleEndian.Uint64(b), uint64(len(u.data)-u.pos); n > rem {
			return u.errf(pos, "truncated frame: need %d bytes, have %d", n, rem)
		}
	case opStop:
		return errStop
	case opMark:
		u.marks = append(u.marks, len(u.stack))
	case opPop:
		if len(u.stack) > u.floor() {
			u.stack = u.stack[:len(u.stack)-1]
		} else if _, err := u.popMark(pos); err != nil {
			return err
		}
	case opPopMark:
		if _, err := u.popMark(pos); err != nil {
			return err
		}
	case opDup:
		v, err := u.top(pos)
		if err != nil {
			return err
		}
		u.push(v)

	case opBinInt:
		b, err := u.take(4, "BININT")
		if err != nil {
			return err
		}
		u.push(int64(int32(binary.LittleEndian.Uint32(b))))
	case opBinInt1:
		b, err := u.take(1, "BININT1")
		if err != nil {
			return err
		}
		u.push(int64(b[0]))
	case opBinInt2:
		b, err := u.take(2, "BININT2")
		if err != nil {
			return err
		}
		u.push(int64(binary.LittleEndian.Uint16(b)))
	case opLong1, opLong4:
		var n uint64
		if op == opLong1 {
			b, err := u.take(1, "LONG1")
			if err != nil {
				return err
			}
			n = uint64(b[0])
		} else {
			b, err := u.take(4, "LONG4")
			if err != nil {
				return err
			}
			l := int32(binary.LittleEndian.Uint32(b))
			if l < 0 {
				return u.errf(pos, "LONG4 with negative length %d", l)
			}
			n = uint64(l)
		}
		b, err := u.take(n, "long integer")
		if err != nil {
			return err
		}
		u.push(decodeLong(b))
	case opBinFloat:
		b, err := u.take(8, "BINFLOAT")
		if err != nil {
			return err
		}
		u.push(math.Float64frombits(binary.BigEndian.Uint64(b)))
	case opNone:
		u.push(nil)
	case opNewTrue:
		u.push(true)
	case opNewFalse:
		u.push(false)

	case opBinString, opShortBinString, opBinUnicode, opShortBinUnicode, opBinUnicode8,
		opBinBytes, opShortBinBytes, opBinBytes8, opByteArray8:
		var n uint64
		switch op {
		case opShortBinString, opShortBinUnicode, opShortBinBytes:
			b, err := u.take(1, "string length")
			if err != nil {
				return err
			}
			n = uint64(b[0])
		case opBinString:
			b, err := u.take(4, "string length")
			if err != nil {
				return err
			}
			l := int32(binary.LittleEndian.Uint32(b))
			if l < 0 {
				return u.errf(pos, "BINSTRING with negative length %d", l)
			}
			n = uint64(l)
		case opBinUnicode, opBinBytes:
			b, err := u.take(4, "string length")
			if err != nil {
				return err
			}
			n = uint64(binary.LittleEndian.Uint32(b))
		default:
			b, err := u.take(8, "string length")
			if err != nil {
				return err
			}
			n = binary.LittleEndian.Uint64(b)
		}
		b, err := u.take(n, "string")
		if err != nil {
			return err
		}
		switch op {
		case opBinBytes, opShortBinBytes, opBinBytes8, opByteArray8:
			u.push(b)
		default:
			u.push(string(b))
		}

	case opEmptyDict:
		u.push(newDict())
	case opEmptyList, opEmptySet:
		u.push(&pyList{})
	case opEmptyTuple:
		u.push(pyTuple{})
	case opTuple, opList, opFrozenSet, opDict:
		items, err := u.popMark(pos)
		if err != nil {
			return err
		}
		switch op {
		case opTuple:
			u.push(pyTuple(items))
		case opList, opFrozenSet:
			u.push(&pyList{items})
		case opDict:
			if len(items)%2 != 0 {
				return u.errf(pos, "DICT with an odd number of items")
			}
			d := newDict()
			for i := 0; i < len(items); i += 2 {
				if err := d.set(items[i], items[i+1]); err != nil {
					return u.errf(pos, "%v", err)
				}
			}
			u.push(d)
		}
	case opTuple1, opTuple2, opTuple3:
		items, err := u.popN(pos, int(op-opTuple1)+1)
		if err != nil {
			return err
		}
		u.push(pyTuple(items))
	case opAppend, opAppends, opAddItems:
		var items []any
		if op == opAppend {
			v, err := u.pop(pos)
			if err != nil {
				return err
			}
			items = []any{v}
		} else {
			var err error
			if items, err = u.popMark(pos); err != nil {
				return err
			}
		}
		t, err := u.top(pos)
		if err != nil {
			return err
		}
		l, ok := t.(*pyList)
		if !ok {
			return u.errf(pos, "append to a %s", pyType(t))
		}
		l.items = append(l.items, items...)
	case opSetItem, opSetItems:
		var items []any
		if op == opSetItem {
			var err error
			if items, err = u.popN(pos, 2); err != nil {
				return err
			}
		} else {
			var err error
			if items, err = u.popMark(pos); err != nil {
				return err
			}
			if len(items)%2 != 0 {
				return u.errf(pos, "SETITEMS with an odd number of items")
			}
		}
		t, err := u.top(pos)
		if err != nil {
			return err
		}
		d, ok := t.(*pyDict)
		if !ok {
			return u.errf(pos, "set item of a %s", pyType(t))
		}
		for i := 0; i < len(items); i += 2 {
			if err := d.set(items[i], items[i+1]); err != nil {
				return u.errf(pos, "%v", err)
			}
		}

	case opGlobal, opStackGlobal:
		var module, name string
		if op == opGlobal {
			var err error
			if module, err = u.line(pos); err != nil {
				return err
			}
			if name, err = u.line(pos); err != nil {
				return err
			}
		} else {
			items, err := u.popN(pos, 2)
			if err != nil {
				return err
			}
			m, ok1 := items[0].(string)
			n, ok2 := items[1].(string)
			if !ok1 || !ok2 {
				return u.errf(pos, "STACK_GLOBAL of a %s and a %s, want two str", pyType(items[0]), pyType(items[1]))
			}
			module, name = m, n
		}
		if u.resolve == nil {
			return u.errf(pos, "unsupported global %s.%s", module, name)
		}
		v, err := u.resolve(module, name)
		if err != nil {
			return u.errf(pos, "%v", err)
		}
		u.push(v)
	case opReduce, opNewObj, opNewObjEx:
		n := 2
		if op == opNewObjEx {
			n = 3
		}
		items, err := u.popN(pos, n)
		if err != nil {
			return err
		}
		f, ok := items[0].(*pyCallable)
		if !ok {
			return u.errf(pos, "call of a %s", pyType(items[0]))
		}
		args, ok := items[1].(pyTuple)
		if !ok {
			return u.errf(pos, "%s called with a %s of arguments, want a tuple", f.name, pyType(items[1]))
		}
		if op == opNewObjEx {
			if kw, ok := items[2].(*pyDict); !ok || len(kw.keys) != 0 {
				return u.errf(pos, "%s called with keyword arguments", f.name)
			}
		}
		call := f.call
		if op != opReduce {
			call = f.newObj
		}
		if call == nil {
			return u.errf(pos, "%s cannot be called this way (opcode 0x%02x)", f.name, op)
		}
		v, err := call(args)
		if err != nil {
			return u.errf(pos, "%s: %v", f.name, err)
		}
		u.push(v)
	case opBuild:
		state, err := u.pop(pos)
		if err != nil {
			return err
		}
		obj, err := u.top(pos)
		if err != nil {
			return err
		}
		if u.build == nil {
			return u.errf(pos, "BUILD of a %s", pyType(obj))
		}
		if err := u.build(obj, state); err != nil {
			return u.errf(pos, "%v", err)
		}

	case opBinPut, opLongBinPut, opMemoize:
		var idx uint64
		switch op {
		case opBinPut:
			b, err := u.take(1, "BINPUT")
			if err != nil {
				return err
			}
			idx = uint64(b[0])
		case opLongBinPut:
			b, err := u.take(4, "LONG_BINPUT")
			if err != nil {
				return err
			}
			idx = uint64(binary.LittleEndian.Uint32(b))
		default:
			idx = uint64(len(u.memo))
		}
		v, err := u.top(pos)
		if err != nil {
			return err
		}
		u.memo[idx] = v
	case opBinGet, opLongBinGet:
		var idx uint64
		if op == opBinGet {
			b, err := u.take(1, "BINGET")
			if err != nil {
				return err
			}
			idx = uint64(b[0])
		} else {
			b, err := u.take(4, "LONG_BINGET")
			if err != nil {
				return err
			}
			idx = uint64(binary.LittleEndian.Uint32(b))
		}
		v, ok := u.memo[idx]
		if !ok {
			return u.errf(pos, "memo key %d not found", idx)
		}
		u.push(v)

	case opBinPersID, opPersID:
		var pid any
		if op == opBinPersID {
			var err error
			if pid, err = u.pop(pos); err != nil {
				return err
			}
		} else {
			s, err := u.line(pos)
			if err != nil {
				return err
			}
			pid = s
		}
		if u.persistentLoad == nil {
			return u.errf(pos, "unexpected persistent id")
		}
		v, err := u.persistentLoad(pid)
		if err != nil {
			return u.errf(pos, "persistent id: %v", err)
		}
		u.push(v)

	default:
		if op >= 0x20 && op < 0x7f {
			return u.errf(pos, "unsupported opcode 0x%02x (%q)", op, rune(op))
		}
		return u.errf(pos, "unsupported opcode 0x%02x", op)
	}
	return nil
}

// decodeLong decodes a little-endian two's-complement integer.
func decodeLong(b []byte) any {
	if len(b) <= 8 {
		var v uint64
		for i := len(b) - 1; i >= 0; i-- {
			v = v<<8 | uint64(b[i])
		}
		shift := uint(64 - 8*len(b))
		return int64(v<<shift) >> shift
	}
	be := make([]byte, len(b))
	for i, c := range b {
		be[len(b)-1-i] = c
	}
	x := new(big.Int).SetBytes(be)
	if b[len(b)-1]&0x80 != 0 {
		x.Sub(x, new(big.Int).Lsh(big.NewInt(1), uint(8*len(b))))
	}
	return x
}

// asInt returns v as an int64 if it is a Python int that fits.
func asInt(v any) (int64, bool) {
	switch v := v.(type) {
	case int64:
		return v, true
	case *big.Int:
		if v.IsInt64() {
			return v.Int64(), true
		}
	}
	return 0, false
}

// asInts returns a tuple (or list) of at most max ints as []int64.
func asInts(v any, max int) ([]int64, bool) {
	var items []any
	switch v := v.(type) {
	case pyTuple:
		items = v
	case *pyList:
		items = v.items
	default:
		return nil, false
	}
	if len(items) > max {
		return nil, false
	}
	out := make([]int64, len(items))
	for i, it := range items {
		n, ok := asInt(it)
		if !ok {
			return nil, false
		}
		out[i] = n
	}
	return out, true
}
