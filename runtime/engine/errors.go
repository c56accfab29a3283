package engine

import (
	"fmt"
	"github.com/scriptd/scriptd/internal/textdist"
	"sort"
	"strings"

	"github.com/scriptd/scriptd/eventloop"
)

// errorLog collapses repeated script errors: the first of a kind (same
// handler, same message, same top frame) is printed in full, repeats are counted and
// mentioned at 10, 100, 1,000... occurrences, and the summary at exit lists
// every kind with its count. Run goroutine (the loops' goroutine) only.
type errorLog struct {
	kinds map[string]*errorKind
	// onRecords counts errors raised while handling input records, to
	// tell a run in which every record failed.
	onRecords int64
}

type errorKind struct {
	origin, first string
	count         int64
}

// report prints ce unless it repeats an earlier error; it returns whether
// it printed.
func (l *errorLog) report(e *Engine, ce eventloop.CallbackError) {
	first, rest, _ := strings.Cut(ce.Detail, "\n")
	where, _, _ := strings.Cut(strings.TrimSpace(rest), "\n") // the top frame: the same message thrown elsewhere is another error
	key := ce.Origin + "\x00" + first + "\x00" + where
	if l.kinds == nil {
		l.kinds = make(map[string]*errorKind)
	}
	k := l.kinds[key]
	if k == nil {
		k = &errorKind{origin: ce.Origin, first: first}
		l.kinds[key] = k
	}
	k.count++
	if ce.Subject != "" {
		l.onRecords++
	}
	on := ""
	if ce.Subject != "" {
		on = " on " + ce.Subject
	}
	switch {
	case k.count == 1:
		fmt.Fprintf(e.stderr, "error in %s%s: %s\n", ce.Origin, on, ce.Detail)
	case isPowerOf10(k.count):
		fmt.Fprintf(e.stderr, "error in %s%s: the same error again (%d times so far): %s\n", ce.Origin, on, k.count, first)
	}
}

func isPowerOf10(n int64) bool {
	for n >= 10 && n%10 == 0 {
		n /= 10
	}
	return n == 1
}

// summary writes every kind of error with its count, most frequent first.
func (l *errorLog) summary(w *lockedWriter) {
	if len(l.kinds) == 0 {
		return
	}
	kinds := make([]*errorKind, 0, len(l.kinds))
	var total int64
	for _, k := range l.kinds {
		kinds = append(kinds, k)
		total += k.count
	}
	sort.Slice(kinds, func(i, j int) bool {
		if kinds[i].count != kinds[j].count {
			return kinds[i].count > kinds[j].count
		}
		return kinds[i].origin < kinds[j].origin
	})
	var b strings.Builder
	fmt.Fprintf(&b, "scriptd: %d script error(s):", total)
	for _, k := range kinds {
		fmt.Fprintf(&b, "\n\t%d× %s: %s", k.count, k.origin, k.first)
	}
	fmt.Fprintln(w, b.String())
}

// neverFired says which events had handlers but never fired while the
// inputs produced others, with the likeliest intended name.
func (e *Engine) neverFired(v *version) {
	if len(e.inputEvents) == 0 {
		return
	}
	var produced []string
	for name := range e.inputEvents {
		produced = append(produced, name)
	}
	sort.Strings(produced)
	var names []string
	for name := range v.events.byName {
		if _, fired := e.firedEvents[name]; !fired && !isLifecycle(name) {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	for _, name := range names {
		msg := fmt.Sprintf("scriptd: handlers for %q never ran; the inputs produced %s", name, describeCounts(produced, e.inputEvents))
		if best := closest(name, produced); best != "" {
			msg += fmt.Sprintf(" — did you mean %q?", best)
		}
		fmt.Fprintln(e.stderr, msg)
	}
}

func isLifecycle(name string) bool {
	return name == "init" || name == "done" || strings.HasPrefix(name, "Storage.") || strings.HasPrefix(name, "scriptd.")
}

func describeCounts(names []string, counts map[string]int64) string {
	parts := make([]string, 0, min(len(names), 5))
	for i, n := range names {
		if i == 5 {
			parts = append(parts, fmt.Sprintf("and %d more", len(names)-5))
			break
		}
		parts = append(parts, fmt.Sprintf("%s (%d)", n, counts[n]))
	}
	return strings.Join(parts, ", ")
}

// closest is the candidate within a small edit distance of name, if any.
func closest(name string, candidates []string) string {
	best, bestD := "", 3
	for _, c := range candidates {
		if d := textdist.Distance(strings.ToLower(name), strings.ToLower(c)); d < bestD {
			best, bestD = c, d
		}
	}
	return best
}
