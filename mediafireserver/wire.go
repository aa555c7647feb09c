package mediafireserver

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
)

// apiVersion is the version every reply reports in current_api_version.
const apiVersion = "1.5"

// contentTypeJSON is the exact Content-Type of every API reply: PYSDK
// compares the header for equality, so no "; charset" parameter.
const contentTypeJSON = "application/json"

// Error codes of the API (§7 of the protocol spec) that the server sends.
const (
	codeInternal       = 100
	codeNoSession      = 104
	codeSessionExpired = 105
	codeCredentials    = 107
	codeApplication    = 109
	codeQuickKey       = 110
	codeNoQuickKey     = 111
	codeFolderKey      = 112
	codeNoFolderKey    = 113
	codeNoFolderName   = 117
	codeFileName       = 118
	codeFolderIntoSelf = 115
	codeSignature      = 127
	codeMissingParam   = 128
	codeInvalidParam   = 129
	codeFileExists     = 143
	codeFolderExists   = 144
	codeStorageLimit   = 162
	codeRateLimit      = 163
	codeUploadFailed   = 169
	codeUploadKey      = 175
	codeNoSignature    = 215
	codeUnknownMethod  = 253
)

var messages = map[int]string{
	codeInternal:       "Internal server error",
	codeNoSession:      "Session token is missing",
	codeSessionExpired: "The supplied Session Token is expired or invalid",
	codeCredentials:    "The Credentials you entered are invalid",
	codeApplication:    "Unknown or invalid Application ID",
	codeQuickKey:       "Unknown or Invalid QuickKey",
	codeNoQuickKey:     "Quick Key is missing",
	codeFolderKey:      "Unknown or invalid FolderKey",
	codeNoFolderKey:    "Folder Key is missing",
	codeNoFolderName:   "Folder name is missing",
	codeFileName:       "File name is invalid",
	codeFolderIntoSelf: "Cannot move/copy a folder into itself or a subfolder",
	codeSignature:      "The signature you specified is invalid",
	codeMissingParam:   "Required parameters missing",
	codeInvalidParam:   "One or more parameters are invalid",
	codeFileExists:     "A file with the same name already exists",
	codeFolderExists:   "A folder with the same name already exists",
	codeStorageLimit:   "The file(s)/folder(s) you upload/copy exceed your total storage limit",
	codeRateLimit:      "You have reached the limit accessing the API. Please try again later",
	codeUploadFailed:   "Upload failed",
	codeUploadKey:      "Invalid upload key",
	codeNoSignature:    "Signature is missing",
	codeUnknownMethod:  "Unknown or invalid API method",
}

// apiError is an error reply: a code and its message.
type apiError struct {
	code int
	msg  string // empty: the code's standard message
}

func (e *apiError) Error() string { return fmt.Sprintf("%d: %s", e.code, e.message()) }

func (e *apiError) message() string {
	if e.msg != "" {
		return e.msg
	}
	if m, ok := messages[e.code]; ok {
		return m
	}
	return "Error " + strconv.Itoa(e.code)
}

func apiErr(code int) *apiError { return &apiError{code: code} }

func apiErrf(code int, format string, args ...any) *apiError {
	return &apiError{code: code, msg: fmt.Sprintf(format, args...)}
}

// httpStatus is the HTTP status of an error reply: non-200 for every API
// error, as the real service does (§1.3), with the split of §7.
func httpStatus(code int) int {
	switch code {
	case codeInternal:
		return 900
	case codeNoSession, codeSessionExpired, codeCredentials, codeApplication, 114, codeSignature, codeNoSignature, 243:
		return http.StatusForbidden
	case codeQuickKey, codeFolderKey, codeUnknownMethod:
		return http.StatusNotFound
	}
	return http.StatusBadRequest
}

// fields are the members of a reply's "response" object besides action,
// result and current_api_version. Values are strings, nested fields,
// []any or []fields: every scalar goes out as a JSON string (§1.3).
type fields map[string]any

// envelope encodes the whole reply body of action.
func envelope(action string, f fields, e *apiError, newKey bool) []byte {
	resp := make(map[string]any, len(f)+5)
	for k, v := range f {
		resp[k] = v
	}
	resp["action"] = action
	resp["current_api_version"] = apiVersion
	if e != nil {
		resp["result"] = "Error"
		resp["error"] = e.code // a JSON number, as the live service sends it
		resp["message"] = e.message()
	} else {
		resp["result"] = "Success"
		if newKey {
			resp["new_key"] = "yes"
		}
	}
	b, err := json.Marshal(map[string]any{"response": resp})
	if err != nil {
		panic(fmt.Sprintf("mediafireserver: encode reply: %v", err)) // only strings, maps and slices
	}
	return b
}

// writeJSON writes a complete API reply with an exact Content-Length.
func writeJSON(w http.ResponseWriter, status int, body []byte) {
	h := w.Header()
	h.Set("Content-Type", contentTypeJSON)
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// writeHTML writes an HTML error page, as a proxy in front of the API
// would: a reply a client cannot parse as JSON.
func writeHTML(w http.ResponseWriter, status int) {
	body := fmt.Appendf(nil, "<html><head><title>%d %s</title></head><body><h1>%d %s</h1></body></html>\n",
		status, http.StatusText(status), status, http.StatusText(status))
	h := w.Header()
	h.Set("Content-Type", "text/html")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
