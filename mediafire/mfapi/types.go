package mfapi

import (
	"encoding/json"
	"time"
)

// Envelope is the common part of every reply, the object inside
// {"response": ...}. The method's own fields sit beside these; decode
// them from the same object (Response.Raw).
type Envelope struct {
	Action            string    `json:"action"`
	Result            string    `json:"result"` // "Success" or "Error"
	Error             ErrorCode `json:"-"`      // see Envelope.UnmarshalJSON
	Message           string    `json:"message,omitempty"`
	NewKey            Bool      `json:"new_key,omitempty"`
	CurrentAPIVersion string    `json:"current_api_version,omitempty"`
}

// Response is a decoded reply: the envelope and the raw object, from
// which the method's fields are decoded.
type Response struct {
	Envelope
	Raw json.RawMessage
}

// Success reports result "Success" with no error code.
func (e *Envelope) Success() bool { return e.Result == "Success" && e.Error == 0 }

// ParseResponse decodes a reply body {"response": {...}}. A body that is
// not such an object is an error; an error reply is not (check Success).
func ParseResponse(body []byte) (*Response, error) {
	var outer struct {
		Response json.RawMessage `json:"response"`
	}
	if err := json.Unmarshal(body, &outer); err != nil {
		return nil, err
	}
	if len(outer.Response) == 0 || outer.Response[0] != '{' {
		return nil, errNoResponse
	}
	var env struct {
		Envelope
		Error Int `json:"error"`
	}
	if err := json.Unmarshal(outer.Response, &env); err != nil {
		return nil, err
	}
	r := &Response{Envelope: env.Envelope, Raw: outer.Response}
	r.Error = ErrorCode(env.Error)
	return r, nil
}

type constError string

func (e constError) Error() string { return string(e) }

const errNoResponse = constError(`mfapi: reply has no "response" object`)

// Err returns the reply's error as an *Error (with method and HTTP
// status), or nil for a success.
func (r *Response) Err(method string, status int) error {
	if r.Success() {
		return nil
	}
	code := r.Error
	if code == 0 {
		code = ErrInternal // "Error" with no code: treat as the service's internal error
	}
	return &Error{Code: code, Method: method, Message: r.Message, Status: status}
}

// Decode decodes the reply's fields into v.
func (r *Response) Decode(v any) error { return json.Unmarshal(r.Raw, v) }

// TimeFormat is the layout of dates in replies, in UTC.
const TimeFormat = "2006-01-02 15:04:05"

// Time is a reply's date, "YYYY-MM-DD HH:MM:SS" in UTC; it also decodes
// Unix seconds. The zero Time decodes from "" or a malformed date.
type Time struct{ time.Time }

// UnmarshalJSON accepts the reply date format or Unix seconds.
func (t *Time) UnmarshalJSON(b []byte) error {
	var s String
	if err := s.UnmarshalJSON(b); err != nil {
		return err
	}
	t.Time = ParseTime(string(s))
	return nil
}

// ParseTime parses a reply date (or Unix seconds); malformed is zero.
func ParseTime(s string) time.Time {
	if s == "" {
		return time.Time{}
	}
	if v, err := time.ParseInLocation(TimeFormat, s, time.UTC); err == nil {
		return v
	}
	var n Int
	if n.UnmarshalJSON([]byte(s)) == nil && n > 0 {
		return time.Unix(int64(n), 0).UTC()
	}
	return time.Time{}
}

// SessionToken is the reply of user/get_session_token.
type SessionToken struct {
	SessionToken string `json:"session_token"`
	SecretKey    String `json:"secret_key"` // decimal, 1..2147483646; absent for v1 tokens
	Time         String `json:"time"`       // opaque; keep byte for byte
	EKey         string `json:"ekey"`
	PKey         string `json:"pkey"`
}

// ActionToken is the reply of user/get_action_token.
type ActionToken struct {
	ActionToken string `json:"action_token"`
}

// FolderInfo describes a folder (folder/get_info's folder_info, and the
// folders of folder/get_content).
type FolderInfo struct {
	FolderKey       string `json:"folderkey"`
	Name            string `json:"name"`
	Description     string `json:"description"`
	Created         Time   `json:"created"`
	Privacy         string `json:"privacy"`
	FileCount       Int    `json:"file_count"`
	FolderCount     Int    `json:"folder_count"`
	Revision        Int    `json:"revision"`
	ParentFolderKey string `json:"parent_folderkey"`
}

// FileInfo describes a file (file/get_info's file_info, and the files of
// folder/get_content).
type FileInfo struct {
	QuickKey        string `json:"quickkey"`
	Filename        string `json:"filename"`
	Hash            string `json:"hash"` // SHA-256 hex; 32 hex characters for a legacy MD5
	Size            Int    `json:"size"`
	Created         Time   `json:"created"`
	Mtime           Time   `json:"mtime"` // not sent by the service; honoured when a server sends it
	Description     string `json:"description"`
	Privacy         string `json:"privacy"`
	MimeType        string `json:"mimetype"`
	Revision        Int    `json:"revision"`
	ParentFolderKey string `json:"parent_folderkey"` // absent for files in the root
}

// FolderContent is folder/get_content's folder_content. Only the array
// that content_type asked for is present.
type FolderContent struct {
	ChunkSize   Int          `json:"chunk_size"`
	ContentType string       `json:"content_type"`
	ChunkNumber Int          `json:"chunk_number"`
	Folders     []FolderInfo `json:"folders"`
	Files       []FileInfo   `json:"files"`
	MoreChunks  Bool         `json:"more_chunks"`
}

// Link is one entry of file/get_links's links.
type Link struct {
	QuickKey                   string `json:"quickkey"`
	DirectDownload             string `json:"direct_download"`
	NormalDownload             string `json:"normal_download"`
	DirectDownloadError        String `json:"direct_download_error"`
	DirectDownloadErrorMessage string `json:"direct_download_error_message"`
}

// FolderCreated is folder/create's reply.
type FolderCreated struct {
	FolderKey       string `json:"folder_key"`
	Name            string `json:"name"`
	ParentFolderKey string `json:"parent_folderkey"`
}

// Bitmap is a resumable upload's record of the units the server holds:
// 16-bit words, least significant bit first (see HasUnit).
type Bitmap struct {
	Count Int   `json:"count"`
	Words []Int `json:"words"`
}

// HasUnit reports whether unit u is marked present: bit u%16 of word
// u/16.
func (b Bitmap) HasUnit(u int) bool {
	if u < 0 || u/16 >= len(b.Words) {
		return false
	}
	return uint16(b.Words[u/16])&(1<<(u%16)) != 0
}

// NewBitmap returns the bitmap of n units with the given ones present.
func NewBitmap(n int, present func(u int) bool) Bitmap {
	words := make([]Int, (n+15)/16)
	for u := range n {
		if present(u) {
			words[u/16] |= 1 << (u % 16)
		}
	}
	return Bitmap{Count: Int(len(words)), Words: words}
}

// ResumableUpload is the resumable_upload record of upload/check and
// upload/resumable.
type ResumableUpload struct {
	AllUnitsReady Bool   `json:"all_units_ready"`
	NumberOfUnits Int    `json:"number_of_units"`
	UnitSize      Int    `json:"unit_size"`
	Bitmap        Bitmap `json:"bitmap"`
	UploadKey     string `json:"upload_key"`
}

// UploadURL is upload/check's upload_url (API 1.5): hosts for uploads.
type UploadURL struct {
	Simple    string `json:"simple"`
	Resumable string `json:"resumable"`
}

// UploadCheck is upload/check's reply.
type UploadCheck struct {
	HashExists           Bool             `json:"hash_exists"`
	InAccount            Bool             `json:"in_account"`
	InFolder             Bool             `json:"in_folder"`
	FileExists           Bool             `json:"file_exists"`
	DifferentHash        Bool             `json:"different_hash"`
	DuplicateQuickKey    string           `json:"duplicate_quickkey"`
	AvailableSpace       Int              `json:"available_space"`
	UsedStorageSize      Int              `json:"used_storage_size"`
	StorageLimit         Int              `json:"storage_limit"`
	StorageLimitExceeded Bool             `json:"storage_limit_exceeded"`
	ResumableUpload      *ResumableUpload `json:"resumable_upload"`
	UploadURL            *UploadURL       `json:"upload_url"`
}

// DoUpload is the doupload record of upload/simple, upload/resumable and
// upload/poll_upload.
type DoUpload struct {
	Result      Int    `json:"result"`
	Key         string `json:"key"`
	Status      Int    `json:"status"`
	Description string `json:"description"`
	FileError   Int    `json:"fileerror"`
	QuickKey    string `json:"quickkey"`
	Hash        string `json:"hash"`
	Filename    string `json:"filename"`
	Size        Int    `json:"size"`
	Created     Time   `json:"created"`
	Revision    Int    `json:"revision"`
}

// Poll statuses of doupload.status.
const (
	PollInProgress17 = 17 // "upload is in progress": start the upload over (a server bug's workaround)
	PollDone98       = 98 // terminal for some clients
	PollDone         = 99 // no more requests for this key
)

// UploadReply is the reply of upload/simple and upload/resumable.
type UploadReply struct {
	DoUpload        DoUpload         `json:"doupload"`
	ResumableUpload *ResumableUpload `json:"resumable_upload"`
}

// PollReply is the reply of upload/poll_upload.
type PollReply struct {
	DoUpload DoUpload `json:"doupload"`
}

// InstantReply is the reply of upload/instant.
type InstantReply struct {
	QuickKey string `json:"quickkey"`
	Filename string `json:"filename"`
}

// UserInfo is user/get_info's user_info (the fields ferry reads).
type UserInfo struct {
	Email           string `json:"email"`
	DisplayName     string `json:"display_name"`
	UsedStorageSize Int    `json:"used_storage_size"`
	StorageLimit    Int    `json:"storage_limit"`
}
