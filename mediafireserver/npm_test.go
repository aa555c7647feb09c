package mediafireserver_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"

	mfst "ferry/mediafireserver/mediafireservertest"
)

// npmScript lists a folder with MediaFire's own TypeScript SDK (npm
// mediafire@0.1.2): it has no login call and signs nothing, so it runs
// on a v1 token from the stand-in.
const npmScript = `
global.XMLHttpRequest = require('xhr2');
const MediaFire = require('mediafire').default;
(async () => {
  const mf = new MediaFire(process.argv[2]);
  mf.authenticate(process.argv[3]);
  const info = await mf.folder.getInfo('myfiles');
  const files = await mf.folder.getContent('myfiles', 'files');
  const folders = await mf.folder.getContent('myfiles', 'folders');
  const user = await mf.user.getInfo();
  console.log(JSON.stringify({info, files, folders, user}));
  process.exit(0); // the REST client's timers would keep node alive for seconds
})().catch((e) => { console.error(e && e.message ? e.message : e); process.exit(1); });
`

// TestNPMSDK lists a folder on the stand-in with the npm mediafire
// package. .ci/run installs it and sets FERRY_NPM_MODULES to its
// node_modules; without that the test is skipped.
func TestNPMSDK(t *testing.T) {
	modules := os.Getenv("FERRY_NPM_MODULES")
	if modules == "" {
		t.Skip("FERRY_NPM_MODULES unset (.ci/run installs npm mediafire@0.1.2 and xhr2 and sets it)")
	}
	if _, err := os.Stat(filepath.Join(modules, "mediafire", "package.json")); err != nil {
		t.Fatalf("FERRY_NPM_MODULES=%s has no mediafire package: %v", modules, err)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("FERRY_NPM_MODULES is set but node is not installed: %v", err)
	}
	ts := mfst.Start(t)
	v2 := ts.Login(t, mfst.User, mfst.Password, false)
	mkdir(t, v2, "", "sub")
	put(t, v2, "", "hello.txt", []byte("hello from ferry"))
	v1 := ts.Login(t, mfst.User, mfst.Password, true)

	script := filepath.Join(t.TempDir(), "list.js")
	if err := os.WriteFile(script, []byte(npmScript), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(t.Context(), node, script, ts.URL, v1.Token)
	cmd.Env = append(os.Environ(), "NODE_PATH="+modules)
	out, err := cmd.Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("node: %v\n%s\n%s", err, out, stderr)
	}
	// The SDK camel-cases keys and turns digit strings into numbers.
	var got struct {
		Info struct {
			FolderInfo struct{ Folderkey, Name string } `json:"folderInfo"`
		} `json:"info"`
		Files struct {
			FolderContent struct {
				Files      []struct{ Filename, Hash string }
				MoreChunks bool
			} `json:"folderContent"`
		} `json:"files"`
		Folders struct {
			FolderContent struct{ Folders []struct{ Name string } } `json:"folderContent"`
		} `json:"folders"`
		User struct {
			UserInfo struct{ Email string } `json:"userInfo"`
		} `json:"user"`
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("node printed %q: %v", out, err)
	}
	if got.Info.FolderInfo.Folderkey != "myfiles" {
		t.Errorf("getInfo: %s", out)
	}
	var files []string
	for _, f := range got.Files.FolderContent.Files {
		files = append(files, f.Filename)
	}
	if !slices.Equal(files, []string{"hello.txt"}) || got.Files.FolderContent.Files[0].Hash != sha([]byte("hello from ferry")) {
		t.Errorf("getContent files: %s", out)
	}
	if len(got.Folders.FolderContent.Folders) != 1 || got.Folders.FolderContent.Folders[0].Name != "sub" {
		t.Errorf("getContent folders: %s", out)
	}
	if got.User.UserInfo.Email != mfst.User {
		t.Errorf("user getInfo: %s", out)
	}
}
