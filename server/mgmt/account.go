package mgmt

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"time"

	"github.com/kiln-dev/kiln/internal/atomicfile"
)

// AccountFile is the name of the file holding the account in a data
// directory.
const AccountFile = "account.json"

// DefaultAccountName is the name of an account none was given for.
const DefaultAccountName = "kiln"

var hex32 = regexp.MustCompile(`^[0-9a-f]{32}$`)

// Account is the one account of a server.
type Account struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	CreatedOn time.Time `json:"created_on"`
}

// loadAccount returns the account of dataDir: the persisted one, with id and
// name overriding it when given, or a new one (persisted) at first start.
func loadAccount(dataDir, id, name string, now time.Time) (Account, error) {
	if id != "" && !hex32.MatchString(id) {
		return Account{}, fmt.Errorf("mgmt: account id %q: want 32 lowercase hex digits", id)
	}
	path := filepath.Join(dataDir, AccountFile)
	var acc Account
	b, err := os.ReadFile(path)
	switch {
	case err == nil:
		if err := json.Unmarshal(b, &acc); err != nil {
			return Account{}, fmt.Errorf("mgmt: account file %s: %w", path, err)
		}
		if !hex32.MatchString(acc.ID) {
			return Account{}, fmt.Errorf("mgmt: account file %s: bad id %q", path, acc.ID)
		}
	case errors.Is(err, fs.ErrNotExist):
		acc = Account{ID: id, Name: name, CreatedOn: now.UTC().Truncate(time.Second)}
		if acc.ID == "" {
			acc.ID = randomHex(16)
		}
		if acc.Name == "" {
			acc.Name = DefaultAccountName
		}
		if err := os.MkdirAll(dataDir, 0o700); err != nil {
			return Account{}, fmt.Errorf("mgmt: account: %w", err)
		}
		out, err := json.MarshalIndent(acc, "", "  ")
		if err != nil {
			return Account{}, fmt.Errorf("mgmt: account: %w", err)
		}
		if err := atomicfile.Write(path, append(out, '\n'), 0o600); err != nil {
			return Account{}, fmt.Errorf("mgmt: account: %w", err)
		}
		return acc, nil
	default:
		return Account{}, fmt.Errorf("mgmt: account: %w", err)
	}
	if id != "" {
		acc.ID = id
	}
	if name != "" {
		acc.Name = name
	}
	return acc, nil
}
