// Package remote turns command-line "remote:path" arguments into backends.
//
// Parse splits an argument with rclone's rules; Registry lists the backend
// types (explicitly, in one function); a Resolver finds the remote in the
// config file (package config), stacks its option values and opens its
// backend:
//
//	command-line flag  --mega-user, --mega-hard-delete (FlagName)
//	environment        FERRY_MEGA_USER, FERRY_MEGA_HARD_DELETE (EnvName)
//	config file        [remote] user = ...
//	default            backend.Option.Default
//
// Each remote gets a private cache directory, CacheRoot/<remote>
// ($XDG_CACHE_HOME/ferry/<remote> by default), where MEGA keeps its session
// and tree cache.
package remote
