// Package megaapi holds the wire types of MEGA's JSON API shared by the
// client (package mega) and the server (package megaserver): command
// requests, replies, nodes, action packets and error codes.
//
// It has no logic beyond encoding: the client and the server each interpret
// these types on their own, so neither is built on the other's assumptions.
// See docs/mega-protocol.md §1 and §5-§8.
package megaapi
