package varelscs

import (
	"crypto/rand"
	"encoding/base64"
)

// scsToken mints an id as scs's generateToken does.
func scsToken() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}
