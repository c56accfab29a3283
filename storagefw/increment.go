package storagefw

import (
	"fmt"
	"math"
)

// Increment computes what an IncrementRequest stores: cur is the stored
// serialized value (found false: absent or expired, counting as 0); next is
// the serialized sum. On failure (a stored value that is not a number of
// the request's type, a count going below 0, an integer overflowing) the
// Reply says why and next is nil: the backend must then change nothing.
// Backends that execute increments in Go call it inside their atomic step
// (SQLite: in the write transaction). Safe for concurrent use.
func (op *Request) Increment(cur []byte, found bool) (next []byte, r Reply) {
	ser, typ := serializer(JSONSerializer{}), op.numType()
	if op.h != nil {
		ser, typ = op.h.ser, op.h.valType
	}
	if typ == nil {
		return nil, Reply{Code: OperationFailed, Error: "increment: no number type"}
	}
	var old any = int64(0)
	if found {
		// Decoded as the handle decodes values: the serializer, then the type.
		v, err := ser.Unserialize(cur)
		if err != nil {
			return nil, Reply{Code: UnserializationFailed, Error: fmt.Sprintf("increment: stored value: %v", err)}
		}
		if old, err = typ.Normalize(v); err != nil {
			return nil, Reply{Code: ValTypeMismatch, Error: fmt.Sprintf("increment: the stored value is not a %s: %v", typ, err)}
		}
	}
	sum, err := addNumbers(op.Num, old, op)
	if err != nil {
		return nil, Reply{Code: ValTypeMismatch, Error: "increment: " + err.Error()}
	}
	if sum, err = typ.Normalize(sum); err != nil {
		return nil, Reply{Code: ValTypeMismatch, Error: "increment: " + err.Error()}
	}
	b, err := ser.Serialize(sum)
	if err != nil {
		return nil, Reply{Code: SerializationFailed, Error: "increment: " + err.Error()}
	}
	return b, Reply{Code: Success, Value: b}
}

// numType is the value type of a request's number kind (for requests
// built without a handle).
func (op *Request) numType() *dataType {
	name := map[NumKind]string{NumCount: "count", NumInt: "int", NumDouble: "double", NumAny: "any"}[op.Num]
	if name == "" {
		name = "any"
	}
	t, err := parseType(name)
	if err != nil {
		return nil
	}
	return t
}

// numberOf reads a decoded number: an integer (isInt) or a double.
func numberOf(v any) (i int64, f float64, isInt, ok bool) {
	switch x := v.(type) {
	case int64:
		return x, float64(x), true, true
	case int:
		return int64(x), float64(x), true, true
	case uint64:
		if x > math.MaxInt64 {
			return 0, float64(x), false, true
		}
		return int64(x), float64(x), true, true
	case float64:
		return 0, x, false, true
	}
	return 0, 0, false, false
}

// addNumbers adds op's delta to old under the number type kind.
func addNumbers(kind NumKind, old any, op *Request) (any, error) {
	oi, of, oInt, ok := numberOf(old)
	if !ok {
		return nil, fmt.Errorf("the stored value %s is not a number", describe(old))
	}
	switch kind {
	case NumCount, NumInt:
		if !oInt {
			if of == math.Trunc(of) && math.Abs(of) < 1<<63 {
				oi, oInt = int64(of), true
			} else {
				return nil, fmt.Errorf("the stored value %v is not an integer", of)
			}
		}
		if !op.DeltaIsInt {
			return nil, fmt.Errorf("by %v is not an integer", op.DeltaFloat)
		}
		sum := oi + op.DeltaInt // wraps; checked below
		// Signed overflow: both operands have the same sign and the sum's differs.
		if (oi >= 0) == (op.DeltaInt >= 0) && (sum >= 0) != (oi >= 0) {
			return nil, fmt.Errorf("%d + %d overflows", oi, op.DeltaInt)
		}
		if kind == NumCount && sum < 0 {
			return nil, fmt.Errorf("a count cannot go below 0 (%d + %d)", oi, op.DeltaInt)
		}
		return sum, nil
	case NumDouble:
		return of + op.delta(), nil
	default: // NumAny: integers stay integers
		if oInt && op.DeltaIsInt {
			sum := oi + op.DeltaInt
			if (oi >= 0) == (op.DeltaInt >= 0) && (sum >= 0) != (oi >= 0) {
				return float64(oi) + float64(op.DeltaInt), nil
			}
			return sum, nil
		}
		return of + op.delta(), nil
	}
}

// delta is the increment as a double.
func (op *Request) delta() float64 {
	if op.DeltaIsInt {
		return float64(op.DeltaInt)
	}
	return op.DeltaFloat
}
