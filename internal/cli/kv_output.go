package cli

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// kvTerminal says what the kv commands may assume about the user's
// terminal. It is decided once per process from the streams (and CI) and
// can be replaced in tests.
type kvTerminal struct {
	// interactive: stdin and stdout are terminals and CI is unset, so a
	// confirmation is asked rather than answered with its fallback (as
	// wrangler's isNonInteractiveOrCI decides).
	interactive bool
	// stdoutIsTerminal: progress lines of large bulk operations are shown.
	stdoutIsTerminal bool
}

// detectKVTerminal inspects the process's streams.
func detectKVTerminal(s *streams) kvTerminal {
	out := isTerminal(s.out)
	ci := os.Getenv("CI")
	inCI := ci != "" && ci != "false" && ci != "0"
	return kvTerminal{
		interactive:      isTerminal(s.in) && out && !inCI,
		stdoutIsTerminal: out,
	}
}

// isTerminal reports whether v is an *os.File open on a character device.
// Pipes, regular files and in-memory buffers are not terminals.
func isTerminal(v any) bool {
	f, ok := v.(*os.File)
	if !ok || f == nil {
		return false
	}
	info, err := f.Stat()
	return err == nil && info.Mode()&os.ModeCharDevice != 0
}

// kvOutput writes what the kv commands print, in wrangler's shapes: plain
// lines on stdout, and errors and warnings on stderr formatted as wrangler's
// logger formats them (esbuild's message style).
type kvOutput struct {
	out, err io.Writer
	in       *bufio.Reader // read lazily for confirmations
	stdin    io.Reader
	terminal kvTerminal
}

// line prints s and a newline on stdout, as logger.log.
func (o *kvOutput) line(s string) {
	io.WriteString(o.out, s+"\n")
}

// warn prints a warning on stderr, as logger.warn.
func (o *kvOutput) warn(msg string) { writeDiagnostic(o.err, "▲", "WARNING", msg) }

// error prints an error on stderr, as wrangler prints a failed command.
func (o *kvOutput) printError(msg string) { writeDiagnostic(o.err, "✘", "ERROR", msg) }

// writeDiagnostic formats a message as wrangler's logger does: the first line
// after the marker, each further line as an indented note after a blank
// line, and a blank line at the end.
func writeDiagnostic(w io.Writer, icon, kind, msg string) {
	first, rest, more := strings.Cut(msg, "\n")
	var b strings.Builder
	fmt.Fprintf(&b, "%s [%s] %s\n", icon, kind, first)
	if more {
		b.WriteString("\n")
		for _, note := range strings.Split(rest, "\n") {
			if note == "" {
				b.WriteString("\n")
				continue
			}
			b.WriteString("  " + note + "\n")
		}
	}
	b.WriteString("\n")
	io.WriteString(w, b.String())
}

// resourceLocation prints the line wrangler 4 prints before a command that
// touches storage. withRemoteHint adds the hint wrangler prints after
// "local" for commands that also take --remote.
func (o *kvOutput) resourceLocation(location string, withRemoteHint bool) {
	o.line("Resource location: " + location + "\n")
	if withRemoteHint {
		o.line("Use --remote if you want to access the remote instance.\n")
	}
}

// confirm asks a yes/no question as wrangler's confirm dialog does. Outside
// an interactive terminal it does not wait: it prints the question and the
// fallback answer, yes, as wrangler does.
func (o *kvOutput) confirm(question string) (bool, error) {
	if !o.terminal.interactive {
		o.line("? " + question)
		o.line("🤖 Using fallback value in non-interactive context: yes")
		return true, nil
	}
	fmt.Fprintf(o.out, "? %s › (Y/n) ", question)
	if o.in == nil {
		o.in = bufio.NewReader(o.stdin)
	}
	answer, err := o.in.ReadString('\n')
	if err != nil && !(errors.Is(err, io.EOF) && answer != "") {
		if errors.Is(err, io.EOF) {
			return false, errors.New("no answer to the confirmation: standard input was closed")
		}
		return false, fmt.Errorf("reading the answer to the confirmation: %w", err)
	}
	switch strings.ToLower(strings.TrimSpace(answer)) {
	case "", "y", "yes":
		return true, nil
	}
	return false, nil
}

// bulkProgressThreshold is the number of items above which wrangler reports
// the progress of a bulk write (its batch size, BATCH_KEY_MAX).
const bulkProgressThreshold = 1000

// bulkProgress prints wrangler's progress lines of a bulk put or delete
// ("Uploaded 8% (1,000 out of 12,000)"). It prints only for more than
// bulkProgressThreshold items and only on a terminal, so that scripts
// reading stdout get the same output for every size.
type bulkProgress struct {
	out   *kvOutput
	verb  string // "Uploaded" or "Deleted"
	total int
}

func (p *bulkProgress) enabled() bool {
	return p.total > bulkProgressThreshold && p.out.terminal.stdoutIsTerminal
}

// report prints the progress after done items.
func (p *bulkProgress) report(done int) {
	if !p.enabled() {
		return
	}
	p.out.line(bulkProgressLine(p.verb, done, p.total))
}

// bulkProgressLine is one progress line: the percentage rounded down and
// both counts with thousands separators.
func bulkProgressLine(verb string, done, total int) string {
	return fmt.Sprintf("%s %d%% (%s out of %s)", verb, 100*done/total, groupThousands(done), groupThousands(total))
}

// groupThousands formats n as en-US does: 12000 -> "12,000".
func groupThousands(n int) string {
	s := strconv.Itoa(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}
