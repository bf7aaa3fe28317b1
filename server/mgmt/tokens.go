package mgmt

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/kiln-dev/kiln/internal/atomicfile"
)

// TokensFile is the name of the token store in a data directory.
const TokensFile = "tokens.json"

// ErrTokenNotFound: no token has the id given to RevokeToken.
var ErrTokenNotFound = errors.New("mgmt: token not found")

// Token is an API token as listed: never its secret.
type Token struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	CreatedOn time.Time `json:"created_on"`
}

type storedToken struct {
	Token
	// Hash is the hex SHA-256 of the secret.
	Hash string `json:"sha256"`
}

type tokenFile struct {
	Version int           `json:"version"`
	Tokens  []storedToken `json:"tokens"`
}

// Tokens is the token store of a data directory: a JSON file holding, per
// token, an id, a name, the creation time and the SHA-256 of the secret.
// Secrets are never stored. Safe for concurrent use within a process; the
// file is replaced atomically, and a Tokens sees changes made by another
// process at its next Verify.
type Tokens struct {
	path string
	now  func() time.Time

	mu     sync.Mutex
	loaded fs.FileInfo // the file the cache was read from; nil if none
	cache  []storedToken
}

// OpenTokens opens the token store of dataDir, creating the directory if
// needed. The file itself is created by the first CreateToken.
func OpenTokens(dataDir string) (*Tokens, error) {
	if dataDir == "" {
		return nil, errors.New("mgmt: the data directory is not set")
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("mgmt: token store: %w", err)
	}
	t := &Tokens{path: filepath.Join(dataDir, TokensFile), now: time.Now}
	t.mu.Lock()
	defer t.mu.Unlock()
	if err := t.refreshLocked(); err != nil {
		return nil, err
	}
	return t, nil
}

// refreshLocked re-reads the file if it is not the one cached.
func (t *Tokens) refreshLocked() error {
	fi, err := os.Stat(t.path)
	if errors.Is(err, fs.ErrNotExist) {
		t.loaded, t.cache = nil, nil
		return nil
	}
	if err != nil {
		return fmt.Errorf("mgmt: token store: %w", err)
	}
	if t.loaded != nil && os.SameFile(t.loaded, fi) && t.loaded.ModTime().Equal(fi.ModTime()) && t.loaded.Size() == fi.Size() {
		return nil
	}
	b, err := os.ReadFile(t.path)
	if err != nil {
		return fmt.Errorf("mgmt: token store: %w", err)
	}
	var f tokenFile
	if err := json.Unmarshal(b, &f); err != nil {
		return fmt.Errorf("mgmt: token store %s: %w", t.path, err)
	}
	t.loaded, t.cache = fi, f.Tokens
	return nil
}

func (t *Tokens) writeLocked(tokens []storedToken) error {
	b, err := json.MarshalIndent(tokenFile{Version: 1, Tokens: tokens}, "", "  ")
	if err != nil {
		return fmt.Errorf("mgmt: token store: %w", err)
	}
	if err := atomicfile.Write(t.path, append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("mgmt: token store: %w", err)
	}
	t.loaded = nil // re-read (and re-stat) at next use
	return t.refreshLocked()
}

func hashSecret(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails
	return hex.EncodeToString(b)
}

// CreateToken creates a token named name and returns its id and its secret,
// the only time the secret is known. The secret is 40 characters of the
// base64url alphabet, like the platform's tokens.
func (t *Tokens) CreateToken(ctx context.Context, name string) (id, secret string, err error) {
	if err := ctx.Err(); err != nil {
		return "", "", err
	}
	name = strings.TrimSpace(name)
	if name == "" {
		return "", "", errors.New("mgmt: a token needs a name")
	}
	var raw [30]byte
	_, _ = rand.Read(raw[:])
	secret = base64.RawURLEncoding.EncodeToString(raw[:])
	id = randomHex(16)

	t.mu.Lock()
	defer t.mu.Unlock()
	if err := t.refreshLocked(); err != nil {
		return "", "", err
	}
	tokens := append(append([]storedToken(nil), t.cache...), storedToken{
		Token: Token{ID: id, Name: name, CreatedOn: t.now().UTC().Truncate(time.Second)},
		Hash:  hashSecret(secret),
	})
	if err := t.writeLocked(tokens); err != nil {
		return "", "", err
	}
	return id, secret, nil
}

// ListTokens returns the tokens in order of creation.
func (t *Tokens) ListTokens(ctx context.Context) ([]Token, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if err := t.refreshLocked(); err != nil {
		return nil, err
	}
	out := make([]Token, len(t.cache))
	for i, st := range t.cache {
		out[i] = st.Token
	}
	return out, nil
}

// RevokeToken deletes the token id; an unknown id gives ErrTokenNotFound.
func (t *Tokens) RevokeToken(ctx context.Context, id string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if err := t.refreshLocked(); err != nil {
		return err
	}
	kept := make([]storedToken, 0, len(t.cache))
	for _, st := range t.cache {
		if st.ID != id {
			kept = append(kept, st)
		}
	}
	if len(kept) == len(t.cache) {
		return fmt.Errorf("revoke %q: %w", id, ErrTokenNotFound)
	}
	return t.writeLocked(kept)
}

// Verify returns the token whose secret is secret, and false if there is
// none (unknown or revoked).
func (t *Tokens) Verify(ctx context.Context, secret string) (Token, bool, error) {
	if err := ctx.Err(); err != nil {
		return Token{}, false, err
	}
	h := []byte(hashSecret(secret))
	t.mu.Lock()
	defer t.mu.Unlock()
	if err := t.refreshLocked(); err != nil {
		return Token{}, false, err
	}
	var found *storedToken
	for i := range t.cache {
		if subtle.ConstantTimeCompare(h, []byte(t.cache[i].Hash)) == 1 {
			found = &t.cache[i]
		}
	}
	if found == nil {
		return Token{}, false, nil
	}
	return found.Token, true, nil
}
