package structuredclone

import (
	"testing"

	"github.com/dop251/goja"
)

var benchValues = []struct{ name, src string }{
	{"SmallObject", `({id: 42, name: "kiln", tags: ["a", "b", "c"], nested: {ok: true, ratio: 0.25}, when: new Date(0)})`},
	{"Map1000", `(() => { const m = new Map(); for (let i = 0; i < 1000; i++) m.set("key" + i, {n: i, s: "value" + i}); return m; })()`},
}

func BenchmarkSerialize(b *testing.B) {
	for _, bv := range benchValues {
		b.Run(bv.name, func(b *testing.B) {
			vm := goja.New()
			v, err := vm.RunString(bv.src)
			if err != nil {
				b.Fatal(err)
			}
			data, err := Serialize(vm, v, Options{})
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := Serialize(vm, v, Options{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkDeserialize(b *testing.B) {
	for _, bv := range benchValues {
		b.Run(bv.name, func(b *testing.B) {
			vm := goja.New()
			v, err := vm.RunString(bv.src)
			if err != nil {
				b.Fatal(err)
			}
			data, err := Serialize(vm, v, Options{})
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := Deserialize(vm, data); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
