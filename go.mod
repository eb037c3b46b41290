module github.com/b7cafead/datapath

go 1.25
