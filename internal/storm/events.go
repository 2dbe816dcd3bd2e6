package storm

import (
	"container/heap"
	"context"
)

// event is something that happens at a simulated instant. seq breaks ties
// in the order events were scheduled, which keeps runs deterministic.
type event struct {
	at  float64 // seconds since the start of the simulation
	seq uint64
	run func(now float64)
}

type eventQueue []event

func (q eventQueue) Len() int { return len(q) }
func (q eventQueue) Less(i, j int) bool {
	if q[i].at != q[j].at {
		return q[i].at < q[j].at
	}
	return q[i].seq < q[j].seq
}
func (q eventQueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *eventQueue) Push(x any)   { *q = append(*q, x.(event)) }
func (q *eventQueue) Pop() any {
	old := *q
	e := old[len(old)-1]
	*q = old[:len(old)-1]
	return e
}

// sim is a discrete-event loop.
type sim struct {
	q   eventQueue
	seq uint64
	now float64
}

func (s *sim) at(t float64, f func(now float64)) {
	s.seq++
	heap.Push(&s.q, event{at: t, seq: s.seq, run: f})
}

// run processes events in time order until none are left and returns the
// time of the last one, or stops early with ctx's error.
func (s *sim) run(ctx context.Context) (float64, error) {
	for n := 0; s.q.Len() > 0; n++ {
		if n%4096 == 0 && ctx.Err() != nil {
			return s.now, ctx.Err()
		}
		e := heap.Pop(&s.q).(event)
		s.now = e.at
		e.run(e.at)
	}
	return s.now, nil
}
