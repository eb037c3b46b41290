package afpacket

import dpio "github.com/b7cafead/datapath/io"

var _ dpio.Port = (*Port)(nil)
