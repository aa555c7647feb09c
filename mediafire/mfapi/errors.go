package mfapi

import (
	"errors"
	"fmt"
	"strconv"
	"time"
)

// ErrorCode is the "error" number of an error reply.
type ErrorCode int

// The error codes ferry acts on. The service's list runs from 100 to 253;
// codes not named here are not retryable and not fatal.
const (
	ErrInternal          ErrorCode = 100 // internal server error (HTTP 900 or 500)
	ErrAPIKeyMissing     ErrorCode = 102
	ErrAPIKeyInvalid     ErrorCode = 103
	ErrTokenMissing      ErrorCode = 104 // session token missing
	ErrTokenInvalid      ErrorCode = 105 // session token expired or invalid
	ErrUnknownUser       ErrorCode = 106
	ErrCredentials       ErrorCode = 107 // wrong e-mail or password
	ErrInvalidUser       ErrorCode = 108
	ErrApplication       ErrorCode = 109 // unknown application id
	ErrQuickKey          ErrorCode = 110 // unknown quickkey: no such file
	ErrQuickKeyMissing   ErrorCode = 111
	ErrFolderKey         ErrorCode = 112 // unknown folder key: no such folder
	ErrFolderKeyMissing  ErrorCode = 113
	ErrAccessDenied      ErrorCode = 114
	ErrFolderIntoItself  ErrorCode = 115
	ErrFolderNameMissing ErrorCode = 117
	ErrFileNameInvalid   ErrorCode = 118
	ErrAPIVersionMissing ErrorCode = 124
	ErrAPIVersionOld     ErrorCode = 125
	ErrDeprecated        ErrorCode = 126
	ErrSignature         ErrorCode = 127 // signature invalid: the key is out of step
	ErrParamsMissing     ErrorCode = 128
	ErrParamsInvalid     ErrorCode = 129
	ErrFileExists        ErrorCode = 143
	ErrFolderExists      ErrorCode = 144
	ErrAppDisabled       ErrorCode = 145
	ErrAppSuspended      ErrorCode = 146
	ErrFileExists2       ErrorCode = 158
	ErrFolderExists2     ErrorCode = 159
	ErrToSToken          ErrorCode = 160
	ErrToSAccept         ErrorCode = 161
	ErrStorageLimit      ErrorCode = 162
	ErrRateLimit         ErrorCode = 163
	ErrDepthLimit        ErrorCode = 167
	ErrUploadFailed      ErrorCode = 169
	ErrUploadKey         ErrorCode = 175
	ErrAsyncJob          ErrorCode = 208
	ErrFolderDeleted     ErrorCode = 209
	ErrFileDeleted       ErrorCode = 210
	ErrFiledropKey       ErrorCode = 214
	ErrSignatureMissing  ErrorCode = 215
	ErrAccountLocked     ErrorCode = 243
	ErrUnknownMethod     ErrorCode = 253
)

var codeNames = map[ErrorCode]string{
	ErrInternal:          "internal server error",
	ErrAPIKeyMissing:     "API key missing",
	ErrAPIKeyInvalid:     "API key invalid",
	ErrTokenMissing:      "session token missing",
	ErrTokenInvalid:      "session token expired or invalid",
	ErrUnknownUser:       "unknown user",
	ErrCredentials:       "wrong e-mail or password",
	ErrInvalidUser:       "invalid user",
	ErrApplication:       "unknown or invalid application id",
	ErrQuickKey:          "no such file (unknown quickkey)",
	ErrQuickKeyMissing:   "quickkey missing",
	ErrFolderKey:         "no such folder (unknown folder key)",
	ErrFolderKeyMissing:  "folder key missing",
	ErrAccessDenied:      "access denied",
	ErrFolderIntoItself:  "cannot move or copy a folder into itself",
	ErrFolderNameMissing: "folder name missing",
	ErrFileNameInvalid:   "file name invalid",
	ErrAPIVersionMissing: "API version missing",
	ErrAPIVersionOld:     "API version too old",
	ErrDeprecated:        "API call deprecated",
	ErrSignature:         "signature invalid",
	ErrParamsMissing:     "required parameters missing",
	ErrParamsInvalid:     "parameters invalid",
	ErrFileExists:        "file already exists",
	ErrFolderExists:      "folder already exists",
	ErrAppDisabled:       "application disabled",
	ErrAppSuspended:      "application suspended",
	ErrFileExists2:       "file already exists",
	ErrFolderExists2:     "folder already exists",
	ErrToSToken:          "terms of service token invalid",
	ErrToSAccept:         "the user must accept the latest terms of service",
	ErrStorageLimit:      "storage limit exceeded",
	ErrRateLimit:         "API rate limit reached",
	ErrDepthLimit:        "folder depth limit reached",
	ErrUploadFailed:      "upload failed",
	ErrUploadKey:         "invalid upload key",
	ErrAsyncJob:          "asynchronous job in progress",
	ErrFolderDeleted:     "folder already deleted",
	ErrFileDeleted:       "file already deleted",
	ErrFiledropKey:       "invalid filedrop key",
	ErrSignatureMissing:  "signature missing",
	ErrAccountLocked:     "account temporarily locked",
	ErrUnknownMethod:     "unknown API method",
}

func (c ErrorCode) String() string {
	if s, ok := codeNames[c]; ok {
		return s
	}
	return "error " + strconv.Itoa(int(c))
}

// Error lets a bare ErrorCode be used as an error and an errors.Is target.
func (c ErrorCode) Error() string { return (&Error{Code: c}).Error() }

// Retryable reports whether the same call may succeed later: 100
// (internal), 163 (rate limit), 169 (upload failed), 208 (async job), and
// 105 and 127, which a new login repairs (Resync).
func (c ErrorCode) Retryable() bool {
	switch c {
	case ErrInternal, ErrRateLimit, ErrUploadFailed, ErrAsyncJob, ErrTokenInvalid, ErrSignature:
		return true
	}
	return false
}

// Resync reports whether the session must be thrown away and a new one
// opened before the call is repeated: the token expired or is missing
// (104, 105), or the key is out of step (127, 215).
func (c ErrorCode) Resync() bool {
	switch c {
	case ErrTokenMissing, ErrTokenInvalid, ErrSignature, ErrSignatureMissing:
		return true
	}
	return false
}

// Fatal reports whether the code needs the user to act and no retry or
// login will fix it: wrong credentials, a locked account, a disabled
// application, bad configuration (API key or version), terms to accept,
// a full account.
func (c ErrorCode) Fatal() bool {
	switch c {
	case ErrAPIKeyMissing, ErrAPIKeyInvalid, ErrUnknownUser, ErrCredentials, ErrInvalidUser,
		ErrApplication, ErrAccessDenied, ErrAPIVersionMissing, ErrAPIVersionOld, ErrDeprecated,
		ErrAppDisabled, ErrAppSuspended, ErrToSToken, ErrToSAccept, ErrStorageLimit,
		ErrAccountLocked, ErrUnknownMethod:
		return true
	}
	return false
}

// NotFound reports whether the code says the key names nothing (110, 112)
// or something already deleted (209, 210).
func (c ErrorCode) NotFound() bool {
	switch c {
	case ErrQuickKey, ErrFolderKey, ErrFolderDeleted, ErrFileDeleted:
		return true
	}
	return false
}

// Exists reports whether the code says a file or folder of that name
// already exists.
func (c ErrorCode) Exists() bool {
	switch c {
	case ErrFileExists, ErrFolderExists, ErrFileExists2, ErrFolderExists2:
		return true
	}
	return false
}

// Error is an error reply. Message is the server's text, which never
// holds the caller's secrets (it is the service's fixed wording).
type Error struct {
	Code    ErrorCode
	Method  string // "folder/get_info"; "" when unknown
	Message string // the server's message; may be empty
	Status  int    // the HTTP status; 0 when unknown
}

func (e *Error) Error() string {
	s := "mediafire"
	if e.Method != "" {
		s += " " + e.Method
	}
	s += fmt.Sprintf(": %d %s", int(e.Code), e.Code.String())
	if e.Message != "" {
		s += " (" + strconv.Quote(e.Message) + ")"
	}
	return s
}

// Is makes errors.Is(err, mfapi.ErrQuickKey) work for any *Error with
// that code.
func (e *Error) Is(target error) bool {
	switch t := target.(type) {
	case ErrorCode:
		return t == e.Code
	case *Error:
		return t.Code == e.Code
	}
	return false
}

// Retryable is the code's (ErrorCode.Retryable).
func (e *Error) Retryable() bool { return e.Code.Retryable() }

// Fatal is the code's (ErrorCode.Fatal).
func (e *Error) Fatal() bool { return e.Code.Fatal() }

// RetryAfter asks for a long wait after a rate limit (163).
func (e *Error) RetryAfter() time.Duration {
	if e.Code == ErrRateLimit {
		return RateLimitWait
	}
	return 0
}

// RateLimitWait is the wait Error.RetryAfter asks for after error 163.
var RateLimitWait = 2 * time.Second

// CodeOf returns the code of the *Error or ErrorCode in err's chain, or 0.
func CodeOf(err error) ErrorCode {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	var c ErrorCode
	if errors.As(err, &c) {
		return c
	}
	return 0
}

// UploadResult is doupload.result: 0 is success, a negative number an
// upload failure.
type UploadResult int

// The doupload.result codes the client acts on.
const (
	UploadHashIncorrect  UploadResult = -90
	UploadIncomplete     UploadResult = -43
	UploadIncomplete2    UploadResult = -44
	UploadSessionInvalid UploadResult = -99
	UploadFolderMissing  UploadResult = -14
	UploadFolderTrashed  UploadResult = -206
	UploadSizeInvalid    UploadResult = -48
	UploadNameMissing    UploadResult = -49
	UploadMissingData    UploadResult = -32
	PollKeyInvalid       UploadResult = -20
	PollKeyNotFound      UploadResult = -80
)

// UploadError is a failed upload/simple, upload/resumable or
// upload/poll_upload: a negative doupload.result, or a poll's fileerror.
type UploadError struct {
	Method    string
	Result    UploadResult // 0 when FileError is set
	FileError int          // the poll's fileerror; 0 when Result is set
}

func (e *UploadError) Error() string {
	if e.FileError != 0 {
		return fmt.Sprintf("mediafire %s: file error %d (%s)", e.Method, e.FileError, fileErrorText(e.FileError))
	}
	return fmt.Sprintf("mediafire %s: upload result %d (%s)", e.Method, int(e.Result), uploadResultText(e.Result))
}

// Retryable reports whether a fresh upload may succeed: a hash or size
// mismatch (fileerror 7, result -90, -43, -44, a lost action token -99)
// and the internal failures; not a missing folder, a full account, a
// blocked account or a name that exists.
func (e *UploadError) Retryable() bool {
	if e.FileError != 0 {
		switch e.FileError {
		case 7, 6, 8, 10, 12, 16, 17:
			return true
		}
		return false
	}
	switch e.Result {
	case UploadFolderMissing, UploadFolderTrashed, UploadSizeInvalid, UploadNameMissing,
		-41, -42, -700, -701, -881, -882, -1, -8, -11, -21, -22:
		return false
	}
	return true
}

// Fatal reports a full account (fileerror 15) or a blocked one (18).
func (e *UploadError) Fatal() bool { return e.FileError == 15 || e.FileError == 18 }

func fileErrorText(n int) string {
	switch n {
	case 1:
		return "larger than the maximum size"
	case 2:
		return "size 0"
	case 5:
		return "virus"
	case 7:
		return "hash or size mismatch"
	case 13:
		return "name already exists"
	case 14:
		return "destination folder missing"
	case 15:
		return "storage limit reached"
	case 16:
		return "revision conflict"
	case 18:
		return "account blocked"
	case 6, 8, 10, 12:
		return "internal error"
	}
	return "upload refused"
}

func uploadResultText(r UploadResult) string {
	switch r {
	case UploadHashIncorrect:
		return "hash incorrect"
	case UploadIncomplete, UploadIncomplete2:
		return "incomplete upload"
	case UploadSessionInvalid:
		return "session invalid"
	case UploadFolderMissing:
		return "target folder missing"
	case UploadFolderTrashed:
		return "target folder in trash"
	case UploadSizeInvalid:
		return "file size invalid"
	case UploadNameMissing:
		return "file name missing"
	case UploadMissingData:
		return "missing file data"
	case PollKeyInvalid:
		return "invalid upload key"
	case PollKeyNotFound:
		return "upload key not found"
	case -41, -42, -700, -701, -881, -882:
		return "maximum file size exceeded"
	}
	return "internal upload error"
}
