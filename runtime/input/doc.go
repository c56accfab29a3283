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
// Records are checked: a JSON object's repeated key gives one field (the
// first position, the last value, as JSON.parse); a Zeek TSV value must fit
// its declared type (a count is an integer from 0 to 2^64-1, a port from 0
// to 65535, an addr an IP address, ...); a ts must be a time from 1970 to
// the end of year 9999 in epoch seconds (a number, or an ISO-8601 string).
// A record that fails is a bad record: skipped, counted in [Stats], and
// reported with its file and line through [Options.OnBadRecord], where
// repeats of one reason collapse into a count ([RepeatedError]). Problems
// that skip nothing (unknown Zeek types, missed rotations of a followed
// file) go to [Options.OnWarning]. A failure to read the input (a
// truncated or corrupt gzip file, say) ends [Reader.Run] with a
// [*ReadError] naming the file and the line reached, which [Reader.Err]
// keeps so that the caller can fail the run.
//
// Concurrency: [Reader.Run] runs on a goroutine of its own and is the only
// goroutine that opens a non-regular input (a named pipe), reads the file,
// and calls [Options.OnBadRecord] and [Options.OnWarning]; [Open] never
// blocks waiting for a writer. For a JSON file (not a pipe) Run has helper
// goroutines, one per core up to four, parse lines ahead of it, and still
// handles every line itself, in file order; they end before Run returns.
// The batches Run sends are owned by the receiver from the moment they are
// received; the reader never touches them again. [Reader.Stats] and [Reader.Err] may be called from any
// goroutine at any time. Cancelling Run's context ends it promptly, even
// while it waits to open or read a named pipe (though not while a read of
// standard input blocks). With [Options.Follow], rotations faster than the
// poll interval lose records; on Linux they are counted and reported, see
// [Options.Follow] for the limits.
package input
