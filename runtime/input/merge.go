package input

import "context"

// MergeByTS merges per-input batch streams into one stream in ts order, so
// a replay of several logs advances network time as the capture did. A
// record without ts takes its input's previous ts. It returns when every
// input is closed or ctx ends; it does not close out.
func MergeByTS(ctx context.Context, ins []chan []Event, out chan<- []Event, batchSize int) {
	type head struct {
		ch    chan []Event
		batch []Event
		i     int
		ts    float64 // effective ts of batch[i]
	}
	// fill makes h.batch[h.i] valid; false when the input is exhausted.
	fill := func(h *head) bool {
		for h.i >= len(h.batch) {
			select {
			case b, ok := <-h.ch:
				if !ok {
					return false
				}
				h.batch, h.i = b, 0
			case <-ctx.Done():
				return false
			}
		}
		if t := h.batch[h.i].TS; t > 0 {
			h.ts = t
		}
		return true
	}
	heads := make([]*head, 0, len(ins))
	for _, ch := range ins {
		h := &head{ch: ch}
		if fill(h) {
			heads = append(heads, h)
		}
	}
	buf := make([]Event, 0, batchSize)
	send := func() bool {
		if len(buf) == 0 {
			return true
		}
		select {
		case out <- buf:
			buf = make([]Event, 0, batchSize)
			return true
		case <-ctx.Done():
			return false
		}
	}
	for len(heads) > 0 {
		min := 0
		for j := 1; j < len(heads); j++ {
			if heads[j].ts < heads[min].ts {
				min = j
			}
		}
		h := heads[min]
		buf = append(buf, h.batch[h.i])
		h.batch[h.i] = Event{}
		h.i++
		if len(buf) == batchSize && !send() {
			return
		}
		if !fill(h) {
			heads = append(heads[:min], heads[min+1:]...)
		}
	}
	send()
}
