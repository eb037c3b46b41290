package dp

import (
	"bytes"
	"strconv"
	"sync/atomic"

	dpio "github.com/b7cafead/datapath/io"
)

// EventType says what happened to a port.
type EventType uint8

// Port event types.
const (
	EventPortAdded   EventType = iota + 1 // the port was attached
	EventPortRemoved                      // the port was detached
	EventLinkUp                           // the carrier came up
	EventLinkDown                         // the carrier went down
	EventMTUChanged                       // the MTU changed
	EventMACChanged                       // the port's own address changed
)

var eventNames = [...]string{
	EventPortAdded:   "port-added",
	EventPortRemoved: "port-removed",
	EventLinkUp:      "link-up",
	EventLinkDown:    "link-down",
	EventMTUChanged:  "mtu-changed",
	EventMACChanged:  "mac-changed",
}

// String returns the type's name, such as "link-down".
func (t EventType) String() string {
	if int(t) < len(eventNames) && eventNames[t] != "" {
		return eventNames[t]
	}
	return "event-" + strconv.Itoa(int(t))
}

// Event is a change of a port.
type Event struct {
	// Seq numbers the datapath's events from 1 in the order they
	// happened; a subscriber that sees a gap lost events to overflow.
	Seq  uint64
	Type EventType
	Port uint32        // port number
	Info dpio.PortInfo // the port as it is after the change
}

// String returns the event in one line, such as
// "3 link-down port 2 (eth1) mtu 1500".
func (e Event) String() string {
	return strconv.FormatUint(e.Seq, 10) + " " + e.Type.String() + " port " +
		strconv.FormatUint(uint64(e.Port), 10) + " (" + e.Info.Name + ") mtu " + strconv.Itoa(e.Info.MTU)
}

// Subscription receives the datapath's port events in order on C. The
// datapath never waits for a subscriber: an event that finds C's buffer
// full is dropped for that subscriber and counted (Dropped), and Seq shows
// the gap.
type Subscription struct {
	// C delivers the events. It is closed by Close and when the datapath
	// closes.
	C <-chan Event

	c       chan Event
	d       *Datapath
	dropped atomic.Uint64
	closed  bool // under d.mu
}

// Dropped returns the number of events this subscriber lost because its
// buffer was full.
func (s *Subscription) Dropped() uint64 { return s.dropped.Load() }

// Close ends the subscription and closes C. Events already buffered stay
// readable.
func (s *Subscription) Close() {
	s.d.mu.Lock()
	defer s.d.mu.Unlock()
	s.d.unsubscribe(s)
}

// Subscribe returns a subscription to port events whose channel buffers up
// to buffer events (at least 1).
func (d *Datapath) Subscribe(buffer int) *Subscription {
	c := make(chan Event, max(buffer, 1))
	s := &Subscription{C: c, c: c, d: d}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		s.closed = true
		close(c)
		return s
	}
	d.subs = append(d.subs, s)
	return s
}

// unsubscribe removes s; the caller holds d.mu.
func (d *Datapath) unsubscribe(s *Subscription) {
	if s.closed {
		return
	}
	s.closed = true
	close(s.c)
	for i, x := range d.subs {
		if x == s {
			d.subs = append(d.subs[:i], d.subs[i+1:]...)
			break
		}
	}
}

// emit delivers an event to every subscriber without blocking; the caller
// holds d.mu, which orders events.
func (d *Datapath) emit(t EventType, port uint32, info dpio.PortInfo) {
	d.eventSeq++
	e := Event{Seq: d.eventSeq, Type: t, Port: port, Info: info}
	for _, s := range d.subs {
		select {
		case s.c <- e:
		default:
			s.dropped.Add(1)
		}
	}
}

// CheckPorts reads every port's Info and raises events for what changed
// since the last check: link up or down, MTU, MAC. A started datapath does
// so once a second by itself; call it to notice a change at once (or when
// driving the datapath with Process).
func (d *Datapath) CheckPorts() {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, v := range d.portsSorted() {
		info := v.dev.Info()
		old := v.info
		v.info = info
		if info.LinkUp != old.LinkUp {
			if info.LinkUp {
				d.emit(EventLinkUp, v.no, info)
			} else {
				d.emit(EventLinkDown, v.no, info)
			}
		}
		if info.MTU != old.MTU {
			d.emit(EventMTUChanged, v.no, info)
		}
		if !bytes.Equal(info.MAC, old.MAC) {
			d.emit(EventMACChanged, v.no, info)
		}
	}
}
