// Package mfapi holds MediaFire Core API wire types shared by clients and
// servers: the response envelope and the records inside it, lenient
// scalars, error codes that classify themselves, the login and call
// signatures with the secret key's rotation, and the resumable upload's
// unit size and bitmap. It does no I/O and imports only the standard
// library.
//
// # Scalars
//
// The service sends almost every scalar as a JSON string ("size":
// "5292032"), a few as numbers ("error": 105), and booleans as "yes" or
// "no". Int and Bool decode either form; they encode as strings, the way
// the service does.
//
// # Signatures
//
// A login is signed with SHA-1 of e-mail, password, application id and
// optional API key (LoginSignature). A call on a version 2 session token
// is signed with MD5 of the secret key modulo 256, the login's time
// string, the path from "/api/" and the exact query string sent
// (CallSignature); after each reply that says "new_key": "yes" the key
// advances by one step of the Park-Miller generator (NextKey).
package mfapi
