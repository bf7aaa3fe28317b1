package bundle

import (
	"fmt"
	"strings"
)

// DefaultMaxNesting is the nesting depth Build allows when Options.MaxNesting is zero.
// Hand-written code rarely nests deeper than 50; esbuild and goja only crash past
// roughly 10^5..10^6, and get slow (seconds) past a few thousand.
const DefaultMaxNesting = 1000

// DefaultMaxFileSize is the size of one source file Build allows when
// Options.MaxFileSize is zero.
const DefaultMaxFileSize = 10 << 20

// arrowWeight is what one pending "=>" adds to the nesting depth. esbuild's time
// to parse a chain of n arrow functions grows about as n^4 (500 take 3 s, 1000
// take 40 s), so arrows are charged more than other constructs.
const arrowWeight = 10

// chainFactor bounds one member/call chain (a.b().c().d...) to chainFactor*max
// links. Such chains are left-nested, cheaper per link than brackets, and long
// in real code (router and query builders), so they get their own larger limit.
const chainFactor = 4

// NestingError reports source nested deeper than the allowed maximum. Line and
// Column (1-based line, 0-based byte column) locate where the limit was passed.
type NestingError struct {
	Depth    int    // the depth reached
	Max      int    // the limit
	Chain    bool   // true when a member/call chain (not bracket nesting) was too long
	Line     int    // 1-based
	Column   int    // 0-based, in bytes
	LineText string // the source line up to a little past Column; empty when Column is past 4 KiB
}

// maxLineTextColumn is the column past which NestingError.LineText is left empty.
const maxLineTextColumn = 4096

func (e *NestingError) Error() string {
	if e.Chain {
		return fmt.Sprintf("line %d: a member/call chain is longer than %d links; kiln refuses such code because it can crash or stall the parser", e.Line, e.Max)
	}
	return fmt.Sprintf("line %d: code is nested more than %d levels deep (brackets, operators and nested statements); kiln refuses such code because it can crash the parser with a stack overflow", e.Line, e.Max)
}

// CheckNesting reports a *NestingError when the JavaScript (or JSON) src nests
// deeper than max levels, and nil otherwise. It is a guard run before esbuild
// or goja parse untrusted code: both parse recursively and a Go stack overflow
// is fatal to the whole process (a 10^6-deep "[[[...]]]", "!!!...x",
// "a=a=a=...", "if(a)if(a)...", "a?b:a?b:..." or "a()()()..." each kill it).
//
// The depth is estimated by a small lexer that skips strings, comments,
// template text and regular expression literals. One level is charged for each
// open bracket ( [ { or template "${", and one for each construct still waiting
// for its right-hand side at the current bracket level: prefix operators (! ~
// unary + - typeof void delete await new ...), assignment operators, "?" ":"
// "**", "else", "extends", if/while/for/with heads, and "=>" (charged 10).
// Those pending constructs are forgotten at the end of a statement or list
// element (";", ",", case clauses, a new statement after a block or a line
// break). A member/call chain (a.b(c).d[e]...) may be chainFactor*max links
// long. The estimate errs on the high side for odd but valid code; max <= 0
// means DefaultMaxNesting.
//
// CheckNesting reads plain JavaScript, which is what goja runs: TypeScript
// without angle-bracket type assertions passes too. Build applies the same
// guard to every source file, JSX-aware where esbuild parses JSX.
func CheckNesting(src string, max int) error {
	return checkNesting(src, max, false)
}

// checkNesting is CheckNesting, also counting JSX elements (one level each)
// and skipping JSX text when jsx is set.
func checkNesting(src string, max int, jsx bool) error {
	if max <= 0 {
		max = DefaultMaxNesting
	}
	s := scanner{src: src, max: max, jsx: jsx}
	return s.run()
}

// token classes, as far as the guard needs them.
const (
	tkNone     = iota // start of input
	tkOperand         // identifier, number, string, regexp, template
	tkClose           // ) ] } (a closing bracket: behaves like an operand)
	tkOperator        // an operator or an opening bracket: what follows starts an expression
	tkDot             // "." or "?.": the next identifier is a property name
	tkKeyword         // a keyword after which an expression starts (return, typeof, case ...)
)

type frame struct {
	// '(', '[', '{', '$' (template substitution), 't' (JSX tag), 'c' (JSX
	// children), 0 for the top level
	open  byte
	block bool // a '{' that opens a block or function body (not an object literal)
	run   int  // pending right-nesting constructs at this level
	terns int  // "?" at this level still waiting for their ":"
	chain int  // links of the member/call chain being read at this level
}

type scanner struct {
	src    string
	max    int
	jsx    bool
	pos    int
	stack  []frame
	depth  int // len(stack)-1 + sum of run over the stack
	prev   int // class of the previous token
	prevID string
	// the token before prev, to tell JSX attributes from assignments
	prev2   int
	prev2ID string
	// pendingEnd is set after ";" or a block's "}": the statement may have ended,
	// which is decided by the next token (an "else" continues it).
	pendingEnd bool
	newline    bool // a line break since the previous token
}

func (s *scanner) top() *frame { return &s.stack[len(s.stack)-1] }

func (s *scanner) setPrev(kind int, id string) {
	s.prev2, s.prev2ID = s.prev, s.prevID
	s.prev, s.prevID = kind, id
}

// jsxAttribute says whether an "=" follows a JSX attribute name (<a b="c" d=):
// an identifier after an identifier, a string or a "}". In JavaScript that
// shape only starts a statement (let x =, or a new line without semicolon),
// where the "=" nests nothing, so not charging it is safe.
func (s *scanner) jsxAttribute() bool {
	if s.prev != tkOperand || s.prevID == "" {
		return false
	}
	return s.prev2 == tkOperand || s.prev2 == tkClose && s.prev2ID == "}"
}

func (s *scanner) run() error {
	s.stack = append(s.stack, frame{})
	s.prev = tkNone
	for s.pos < len(s.src) {
		switch s.top().open {
		case 't':
			if err := s.jsxTag(); err != nil {
				return err
			}
			continue
		case 'c':
			if err := s.jsxChildren(); err != nil {
				return err
			}
			continue
		}
		c := s.src[s.pos]
		switch {
		case c == '\n' || c == '\r':
			s.newline = true
			s.pos++
		case c == ' ' || c == '\t' || c == '\v' || c == '\f':
			s.pos++
		case c == '/' && s.peek(1) == '/':
			s.skipLine()
		case c == '/' && s.peek(1) == '*':
			end := strings.Index(s.src[s.pos+2:], "*/")
			if end < 0 {
				s.pos = len(s.src)
			} else {
				if strings.ContainsAny(s.src[s.pos+2:s.pos+2+end], "\n\r") {
					s.newline = true
				}
				s.pos += end + 4
			}
		case c == '#' && s.pos == 0 && s.peek(1) == '!':
			s.skipLine() // hashbang
		case c == '#' && isIdentStart(s.peek(1)):
			// a private name: like a property name, it continues a chain
			s.pos++
			for s.pos < len(s.src) && isIdent(s.src[s.pos]) {
				s.pos++
			}
			s.beginToken(true, "")
			s.setPrev(tkOperand, "")
		case c == '\'' || c == '"':
			start := s.pos
			s.skipString(c)
			s.operand(start)
		case c == '`':
			// a template literal, tagged when it follows an operand
			tagged := s.prev == tkOperand || s.prev == tkClose
			s.beginToken(tagged, "")
			if !tagged {
				s.top().chain = 0
			}
			s.pos++
			if err := s.template(); err != nil {
				return err
			}
		case c >= '0' && c <= '9' || c == '.' && isDigit(s.peek(1)):
			start := s.pos
			for s.pos < len(s.src) && (isIdent(s.src[s.pos]) || s.src[s.pos] == '.') {
				s.pos++
			}
			s.operand(start)
		case isIdentStart(c):
			start := s.pos
			for s.pos < len(s.src) && isIdent(s.src[s.pos]) {
				s.pos++
			}
			if err := s.word(start, s.src[start:s.pos]); err != nil {
				return err
			}
		case c == '/' && s.regexAllowed():
			start := s.pos
			s.skipRegexp()
			s.operand(start)
		default:
			if err := s.punct(); err != nil {
				return err
			}
		}
	}
	return nil
}

func (s *scanner) peek(n int) byte {
	if s.pos+n < len(s.src) {
		return s.src[s.pos+n]
	}
	return 0
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isIdentStart(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || c == '$' || c == '\\' || c >= 0x80
}

func isIdent(c byte) bool { return isIdentStart(c) || isDigit(c) }

func (s *scanner) skipLine() {
	for s.pos < len(s.src) && s.src[s.pos] != '\n' && s.src[s.pos] != '\r' {
		s.pos++
	}
}

// skipString skips a quoted string. An unescaped line break ends it too, so a
// stray quote (JSX text such as "don't") costs at most the rest of its line.
func (s *scanner) skipString(q byte) {
	s.pos++
	for s.pos < len(s.src) {
		switch s.src[s.pos] {
		case q:
			s.pos++
			return
		case '\\':
			s.pos += 2
		case '\n', '\r':
			return
		default:
			s.pos++
		}
	}
}

// skipRegexp skips a regular expression literal; like strings it never crosses a line.
func (s *scanner) skipRegexp() {
	s.pos++
	inClass := false
	for s.pos < len(s.src) {
		switch s.src[s.pos] {
		case '\\':
			s.pos += 2
			continue
		case '[':
			inClass = true
		case ']':
			inClass = false
		case '/':
			if !inClass {
				s.pos++
				for s.pos < len(s.src) && isIdent(s.src[s.pos]) {
					s.pos++ // flags
				}
				return
			}
		case '\n', '\r':
			return
		}
		s.pos++
	}
}

// regexAllowed guesses whether a "/" starts a regular expression literal: it
// does where an expression may start. "</" is taken as a JSX closing tag.
func (s *scanner) regexAllowed() bool {
	switch s.prev {
	case tkNone, tkKeyword:
		return true
	case tkOperator:
		return s.prevID != "<"
	}
	return false
}

// template scans template text after a backtick, up to the closing backtick or
// a "${", which opens a substitution frame closed by the matching "}".
func (s *scanner) template() error {
	for s.pos < len(s.src) {
		switch s.src[s.pos] {
		case '\\':
			s.pos += 2
		case '`':
			s.pos++
			s.setPrev(tkOperand, "")
			return nil
		case '$':
			if s.peek(1) == '{' {
				s.pos += 2
				s.setPrev(tkOperator, "${")
				return s.push('$', false, s.pos-2)
			}
			s.pos++
		default:
			s.pos++
		}
	}
	return nil
}

// beginToken applies the decisions that depend on the token that follows:
// whether a statement ended before it, and whether a member/call chain goes on.
// cont says whether the token continues the expression before it (a binary
// operator, ".", "(" after an operand ...).
func (s *scanner) beginToken(cont bool, word string) {
	f := s.top()
	if s.pendingEnd {
		s.pendingEnd = false
		if word != "else" && word != "catch" && word != "finally" && word != "while" && !cont {
			s.setRun(f, 0)
			f.terns = 0
		}
	} else if s.newline && !cont && (s.prev == tkOperand || s.prev == tkClose) {
		// A line break between an operand and a token that cannot continue the
		// expression: automatic semicolon insertion ends the statement.
		s.setRun(f, 0)
		f.terns = 0
	}
	s.newline = false
}

func (s *scanner) setRun(f *frame, run int) {
	s.depth += run - f.run
	f.run = run
}

// operand records an identifier, literal, template or regexp. It continues a
// member chain only as the property name after a dot.
func (s *scanner) operand(start int) {
	s.beginToken(false, "")
	f := s.top()
	if s.prev != tkDot {
		f.chain = 0
	}
	s.setPrev(tkOperand, "")
}

// pending charges one construct waiting for its right-hand side.
func (s *scanner) pending(weight, at int) error {
	f := s.top()
	s.setRun(f, f.run+weight)
	if s.depth > s.max {
		return s.fail(at, false)
	}
	return nil
}

func (s *scanner) fail(at int, chain bool) error {
	line := 1 + strings.Count(s.src[:at], "\n")
	ls := strings.LastIndexByte(s.src[:at], '\n') + 1
	le := strings.IndexByte(s.src[at:], '\n')
	if le < 0 {
		le = len(s.src)
	} else {
		le += at
	}
	col := at - ls
	// Keep the column exact; cut the line (minified code is one long line)
	// to a little past the column, or drop it when the column is far out.
	text := ""
	if col <= maxLineTextColumn {
		text = strings.TrimRight(s.src[ls:min(le, at+80)], "\r")
	}
	limit := s.max
	if chain {
		limit = s.max * chainFactor
	}
	return &NestingError{Depth: s.depth, Max: limit, Chain: chain, Line: line, Column: col, LineText: text}
}

// keywords after which an expression (not an operator) follows.
var exprKeywords = map[string]bool{
	"return": true, "typeof": true, "instanceof": true, "in": true, "of": true, "new": true,
	"delete": true, "void": true, "throw": true, "case": true, "do": true, "else": true,
	"yield": true, "await": true, "extends": true, "default": true, "export": true,
}

// keywords that nest what follows them (prefix operators and statement heads).
var nestingKeywords = map[string]bool{
	"typeof": true, "void": true, "delete": true, "await": true, "new": true, "yield": true,
	"else": true, "if": true, "while": true, "for": true, "with": true, "do": true,
	"extends": true,
}

// keywords that continue the expression before them.
var infixKeywords = map[string]bool{
	"in": true, "instanceof": true, "of": true, "as": true, "satisfies": true,
}

func (s *scanner) word(start int, w string) error {
	if s.prev == tkDot {
		// a property name: part of the chain
		s.beginToken(true, "")
		s.setPrev(tkOperand, "")
		return nil
	}
	s.beginToken(infixKeywords[w], w)
	f := s.top()
	f.chain = 0
	if w == "case" || w == "default" && s.prevID != "export" {
		s.setRun(f, 0)
		f.terns = 0
	}
	// "else if" is one level, not two
	if nestingKeywords[w] && !(w == "if" && s.prev == tkKeyword && s.prevID == "else") {
		if err := s.pending(1, start); err != nil {
			return err
		}
	}
	if exprKeywords[w] || infixKeywords[w] {
		s.setPrev(tkKeyword, w)
	} else {
		s.setPrev(tkOperand, w)
	}
	return nil
}

// operators, longest first within each first byte.
var punctuators = []string{
	">>>=", "...", "===", "!==", "**=", "<<=", ">>=", ">>>", "&&=", "||=", "??=",
	"=>", "==", "!=", "<=", ">=", "&&", "||", "??", "?.", "++", "--", "+=", "-=", "*=",
	"/=", "%=", "&=", "|=", "^=", "**", "<<", ">>",
}

// multiStart are the first bytes of the punctuators longer than one byte.
const multiStart = "<>=!*&|?+-./%^"

var assignOps = map[string]bool{
	"=": true, "+=": true, "-=": true, "*=": true, "/=": true, "%=": true, "**=": true,
	"<<=": true, ">>=": true, ">>>=": true, "&=": true, "|=": true, "^=": true,
	"&&=": true, "||=": true, "??=": true,
}

func (s *scanner) punct() error {
	at := s.pos
	op := s.src[s.pos : s.pos+1]
	if strings.IndexByte(multiStart, s.src[s.pos]) >= 0 {
		for _, p := range punctuators {
			if strings.HasPrefix(s.src[s.pos:], p) {
				op = p
				break
			}
		}
	}
	if op == "?." && isDigit(s.peek(2)) {
		op = "?" // a ? .5 : b
	}
	s.pos += len(op)
	afterOperand := s.prev == tkOperand || s.prev == tkClose

	if op == "<" && s.jsx && s.jsxStart() {
		s.beginToken(false, "")
		s.top().chain = 0
		return s.push('t', false, at)
	}

	switch op {
	case "(", "[", "{":
		call := op != "{" && afterOperand
		s.beginToken(call, "")
		f := s.top()
		if call {
			f.chain++
			if f.chain > s.max*chainFactor {
				return s.fail(at, true)
			}
		} else {
			f.chain = 0
		}
		block := op == "{" && s.opensBlock()
		s.setPrev(tkOperator, op)
		return s.push(op[0], block, at)
	case ")", "]", "}":
		s.newline = false
		s.pendingEnd = false
		if len(s.stack) == 1 {
			s.setPrev(tkClose, op)
			return nil // unbalanced: ignore
		}
		f := s.stack[len(s.stack)-1]
		if f.open == 't' || f.open == 'c' {
			return nil // not reached: JSX frames are closed by jsxTag and jsxChildren
		}
		s.pop()
		if f.open == '$' {
			// back into the template text
			return s.template()
		}
		s.setPrev(tkClose, op)
		if f.block {
			s.pendingEnd = true
		}
		return nil
	case ".", "?.":
		s.beginToken(true, "")
		f := s.top()
		f.chain++
		if f.chain > s.max*chainFactor {
			return s.fail(at, true)
		}
		s.setPrev(tkDot, op)
		return nil
	case ";":
		s.beginToken(true, "")
		s.top().chain = 0
		s.pendingEnd = true
		s.setPrev(tkOperator, op)
		return nil
	case ",":
		s.beginToken(true, "")
		f := s.top()
		f.chain = 0
		s.setRun(f, 0)
		f.terns = 0
		s.setPrev(tkOperator, op)
		return nil
	}

	prefix := !afterOperand
	cont := !prefix || op == "=>"
	if op == "++" || op == "--" {
		// postfix only directly after an operand on the same line
		cont = afterOperand && !s.newline
		prefix = !cont
	}
	s.beginToken(cont, "")
	f := s.top()
	f.chain = 0
	var err error
	switch {
	case op == "=>":
		err = s.pending(arrowWeight, at)
	case op == "?":
		f.terns++
		err = s.pending(1, at)
	case op == ":" && f.terns > 0:
		f.terns-- // the else branch of a conditional: charged with its "?"
	case op == "=" && s.jsxAttribute():
	case assignOps[op] || op == ":" || op == "**":
		// ":" here is a label, a case or a property/type annotation
		err = s.pending(1, at)
	case prefix && (op == "!" || op == "~" || op == "+" || op == "-" || op == "++" || op == "--" || op == "..."):
		err = s.pending(1, at)
	}
	if (op == "++" || op == "--") && !prefix {
		s.setPrev(tkOperand, op)
	} else {
		s.setPrev(tkOperator, op)
	}
	return err
}

// opensBlock guesses whether a "{" opens a block or function body rather than
// an object literal, from the token before it.
func (s *scanner) opensBlock() bool {
	switch s.prev {
	case tkNone, tkClose:
		return true // "{" at the start, ") {", "} {"
	case tkOperator:
		return s.prevID == "=>" || s.prevID == ";" || s.prevID == "{"
	case tkKeyword:
		return s.prevID == "else" || s.prevID == "do"
	case tkOperand:
		switch s.prevID {
		case "try", "finally":
			return true
		}
	}
	return false
}

func (s *scanner) push(open byte, block bool, at int) error {
	s.stack = append(s.stack, frame{open: open, block: block})
	s.depth++
	if s.depth > s.max {
		return s.fail(at, false)
	}
	return nil
}

func (s *scanner) pop() {
	f := s.stack[len(s.stack)-1]
	s.depth -= 1 + f.run
	s.stack = s.stack[:len(s.stack)-1]
}

// jsxStart says whether the "<" just read (s.pos is past it) opens a JSX
// element: it stands where an expression starts, and is followed by a name or
// ">" (a fragment), but not by "T," or "T extends" (a TSX generic arrow).
func (s *scanner) jsxStart() bool {
	switch s.prev {
	case tkNone, tkOperator, tkKeyword:
	default:
		return false
	}
	if s.pos >= len(s.src) {
		return false
	}
	if s.src[s.pos] == '>' {
		return true
	}
	if !isIdentStart(s.src[s.pos]) {
		return false
	}
	i := s.pos
	for i < len(s.src) && isIdent(s.src[i]) {
		i++
	}
	for i < len(s.src) && (s.src[i] == ' ' || s.src[i] == '\t' || s.src[i] == '\n' || s.src[i] == '\r') {
		i++
	}
	rest := s.src[i:]
	if strings.HasPrefix(rest, ",") {
		return false
	}
	if strings.HasPrefix(rest, "extends") && (len(rest) == 7 || !isIdent(rest[7])) {
		return false
	}
	return true
}

// jsxTag reads one token of a JSX opening or closing tag's inside: names,
// "=", attribute strings (no escapes, may span lines), "{...}" expressions,
// and the ">" or "/>" that ends it.
func (s *scanner) jsxTag() error {
	c := s.src[s.pos]
	switch {
	case c == '/' && s.peek(1) == '>':
		s.pos += 2
		s.jsxElementEnd()
	case c == '>':
		s.pos++
		s.top().open = 'c'
	case c == '{':
		at := s.pos
		s.pos++
		s.setPrev(tkOperator, "{")
		return s.push('{', false, at)
	case c == '"' || c == '\'':
		end := strings.IndexByte(s.src[s.pos+1:], c)
		if end < 0 {
			s.pos = len(s.src)
		} else {
			s.pos += end + 2
		}
	default:
		s.pos++
	}
	return nil
}

// jsxChildren reads JSX text up to a "{...}" expression, a child element or
// the closing tag.
func (s *scanner) jsxChildren() error {
	i := strings.IndexAny(s.src[s.pos:], "<{")
	if i < 0 {
		s.pos = len(s.src)
		return nil
	}
	at := s.pos + i
	s.pos = at + 1
	if s.src[at] == '{' {
		s.setPrev(tkOperator, "{")
		return s.push('{', false, at)
	}
	if s.peek(0) == '/' {
		// closing tag: skip to its ">"
		end := strings.IndexByte(s.src[s.pos:], '>')
		if end < 0 {
			s.pos = len(s.src)
		} else {
			s.pos += end + 1
		}
		s.jsxElementEnd()
		return nil
	}
	return s.push('t', false, at)
}

// jsxElementEnd closes the element whose tag or children frame is on top.
func (s *scanner) jsxElementEnd() {
	s.pop()
	if o := s.top().open; o != 't' && o != 'c' {
		// back in JavaScript: the element was an operand
		s.newline = false
		s.setPrev(tkOperand, "")
	}
}
