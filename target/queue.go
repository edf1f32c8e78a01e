package target

import (
	"container/list"
	"context"
	"sync"
)

// queue is a counting semaphore that grants its slots in arrival order, as
// the accept queue of a server with a fixed number of workers would. The
// zero value has no slots; it is safe for concurrent use.
type queue struct {
	mu      sync.Mutex
	free    int
	waiting list.List // of chan struct{}, closed to hand over a slot
}

func newQueue(slots int) *queue { return &queue{free: slots} }

// acquire takes a slot, waiting behind earlier callers; it gives up with
// ctx's error.
func (q *queue) acquire(ctx context.Context) error {
	q.mu.Lock()
	if q.free > 0 && q.waiting.Len() == 0 {
		q.free--
		q.mu.Unlock()
		return nil
	}
	granted := make(chan struct{})
	e := q.waiting.PushBack(granted)
	q.mu.Unlock()

	select {
	case <-granted:
		return nil
	case <-ctx.Done():
		q.mu.Lock()
		select {
		case <-granted:
			// Handed a slot as ctx ended: pass it on.
			q.mu.Unlock()
			q.release()
		default:
			q.waiting.Remove(e)
			q.mu.Unlock()
		}
		return ctx.Err()
	}
}

// release returns a slot, handing it straight to the longest waiter so
// that no later arrival can overtake it.
func (q *queue) release() {
	q.mu.Lock()
	defer q.mu.Unlock()
	if e := q.waiting.Front(); e != nil {
		q.waiting.Remove(e)
		close(e.Value.(chan struct{}))
		return
	}
	q.free++
}

// queued is how many callers wait for a slot.
func (q *queue) queued() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.waiting.Len()
}
