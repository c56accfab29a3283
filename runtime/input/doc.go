// Package input reads the records of scriptd's --input files off the
// JavaScript loop goroutine and hands parsed batches of events to the loop
// through a bounded channel.
//
// A [Reader] reads one [Spec] ("[NAME=]FILE"). It understands JSON lines
// (one object per line, as Zeek's JSON streaming logs write them) and Zeek's
// tab-separated ASCII logs (detected by their "#separator" header and typed
// by their "#types" line), either of them optionally gzip-compressed
// (detected by the magic bytes, not the file name). With [Options.Follow] it
// keeps reading as the file grows, like tail -F.
//
// The package does not depend on the JavaScript engine: records are plain Go
// values ([Record], [Field]) that the loop converts.
//
// Concurrency: [Reader.Run] runs on a goroutine of its own and is the only
// goroutine that reads the file and calls [Options.OnBadRecord]. The batches
// it sends are owned by the receiver from the moment they are received; the
// reader never touches them again. [Reader.Stats] may be called from any
// goroutine at any time.
package input
