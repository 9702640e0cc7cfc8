package broker

import (
	"net"
	"strings"
)

// listenLoopback keeps the broker off external interfaces whatever address
// kfake asks for: a demo must not expose an unauthenticated broker.
func listenLoopback(network, address string) (net.Listener, error) {
	_, port, err := net.SplitHostPort(address)
	if err != nil {
		port = strings.TrimPrefix(address, ":")
	}
	return net.Listen(network, net.JoinHostPort("127.0.0.1", port))
}
