package cli

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"github.com/spf13/pflag"

	"ferry/internal/rc"
)

// rcOptionFlags maps the option names of rclone's _config and _filter
// objects that do not turn into ferry's flag names by spelling them in
// kebab case (DryRun: dry-run, MaxTransfer: max-transfer).
var rcOptionFlags = map[string]string{
	"CheckSum":        "checksum",
	"UpdateOlder":     "update",
	"NoUpdateModTime": "no-update-modtime",
	"BwLimit":         "bwlimit",
	"FilterRule":      "filter",
	"IncludeRule":     "include",
	"ExcludeRule":     "exclude",
	"ExcludeFile":     "exclude-if-present",
}

// rcDeleteModes are the values of rclone's _config DeleteMode (a number
// or its name) and the flags they stand for.
var rcDeleteModes = map[string]string{
	"1": "delete-before", "2": "delete-during", "3": "delete-after",
	"before": "delete-before", "during": "delete-during", "after": "delete-after",
}

// rcTransferOptions parses the options of an rc transfer call (sync/copy,
// sync/sync, sync/move) as rclone takes them: the _config and _filter
// objects, whose keys are the flags in rclone's spelling ({"DryRun":
// true}, {"IncludeRule": ["*.jpg"]}), and createEmptySrcDirs; also
// ferry's dryRun. The values go through the command line's own flag
// parsers, so they mean exactly what the flags mean. The flags of the
// terminal (-P, --json, --stats...) are the daemon's: refused here.
func rcTransferOptions(in rc.Params) (transferOptions, error) {
	var o transferOptions
	fs := pflag.NewFlagSet("rc", pflag.ContinueOnError)
	addTransferFlags(fs, &o)
	terminal := pflag.NewFlagSet("", pflag.ContinueOnError)
	addStatsFlags(terminal, new(statsOptions))
	refused := func(name string) bool {
		return name == "progress" || name == "json" || terminal.Lookup(name) != nil
	}
	for _, section := range []string{"_config", "_filter"} {
		raw, ok := in[section]
		if !ok {
			continue
		}
		obj, ok := raw.(map[string]any)
		if !ok {
			return o, &rc.ParamError{Key: section, Problem: fmt.Sprintf("want an object, got %T", raw)}
		}
		for _, key := range slices.Sorted(maps.Keys(obj)) {
			param := section + "." + key
			name, v := rcOptionFlag(key), obj[key]
			if key == "DeleteMode" {
				mode, ok := rcDeleteModes[strings.ToLower(rcScalar(v))]
				if !ok {
					return o, &rc.ParamError{Key: param, Problem: "want 1 (before), 2 (during) or 3 (after)"}
				}
				name, v = mode, true
			}
			f := fs.Lookup(name)
			if f == nil || refused(name) {
				return o, &rc.ParamError{Key: param, Problem: "not an option of ferry's transfers"}
			}
			if err := setRCFlag(f, v); err != nil {
				return o, &rc.ParamError{Key: param, Problem: err.Error()}
			}
		}
	}
	for param, name := range map[string]string{"createEmptySrcDirs": "create-empty-src-dirs", "dryRun": "dry-run"} {
		if v, ok := in[param]; ok {
			if err := setRCFlag(fs.Lookup(name), v); err != nil {
				return o, &rc.ParamError{Key: param, Problem: err.Error()}
			}
		}
	}
	if err := o.validate(); err != nil {
		return o, &rc.ParamError{Key: "_config", Problem: err.Error()}
	}
	return o, nil
}

// rcOptionFlag is the flag name of an rclone option name.
func rcOptionFlag(key string) string {
	if name, ok := rcOptionFlags[key]; ok {
		return name
	}
	var b strings.Builder
	rs := []rune(key)
	for i, r := range rs {
		if unicode.IsUpper(r) {
			if i > 0 && (unicode.IsLower(rs[i-1]) || unicode.IsDigit(rs[i-1])) {
				b.WriteByte('-')
			}
			r = unicode.ToLower(r)
		}
		b.WriteRune(r)
	}
	return b.String()
}

// setRCFlag sets f from a JSON value: a list sets a repeatable flag once
// per element; a number is bytes for a size and nanoseconds for a
// duration, as rclone's JSON has them.
func setRCFlag(f *pflag.Flag, v any) error {
	if list, ok := v.([]any); ok {
		if !strings.HasSuffix(f.Value.Type(), "Array") {
			return fmt.Errorf("want one value, got a list")
		}
		for _, e := range list {
			if err := setRCFlag(f, e); err != nil {
				return err
			}
		}
		return nil
	}
	s := rcScalar(v)
	if n, ok := v.(float64); ok {
		switch f.Value.Type() {
		case "size":
			s += "B"
		case "duration":
			if n == math.Trunc(n) {
				s += "ns"
			}
		}
	}
	return f.Value.Set(s)
}

// rcScalar is a JSON scalar in the command line's notation.
func rcScalar(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case bool:
		return strconv.FormatBool(v)
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	default:
		return fmt.Sprint(v)
	}
}
