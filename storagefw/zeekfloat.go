package storagefw

// Doubles as Zeek's JSON serializer writes them, and interval text as
// Zeek describes intervals.
//
// Zeek writes doubles (and times) with rapidjson's Writer::Double, which
// calls internal::dtoa: Grisu2 digit generation (Loitsch, "Printing
// floating-point numbers quickly and accurately with integers", PLDI 2010)
// followed by rapidjson's Prettify layout. Grisu2 is not always the
// shortest round-trip representation (1e23 is written 9.999999999999999e22,
// 0.000649 as 0.0006489999999999999), so strconv cannot be used: the code
// below is a line-by-line Go port of rapidjson's internal/dtoa.h, diyfp.h
// and ieee754.h at the commit Zeek's auxil/rapidjson submodule pins
// (github.com/zeek/rapidjson 6089180ecb704cb2b136777798fa1be303618975).
// rapidjson is Copyright (C) 2015 THL A29 Limited, a Tencent company, and
// Milo Yip, MIT License.

import (
	"math"
	"math/bits"
	"strconv"
)

const (
	dpSignificandSize = 52
	dpExponentBias    = 0x3FF + dpSignificandSize
	dpMinExponent     = -dpExponentBias
	dpExponentMask    = 0x7FF0000000000000
	dpSignificandMask = 0x000FFFFFFFFFFFFF
	dpHiddenBit       = 0x0010000000000000
	diySignificandSz  = 64
)

// diyFp is rapidjson's DiyFp: f × 2^e.
type diyFp struct {
	f uint64
	e int
}

func diyFromDouble(d float64) diyFp {
	u := math.Float64bits(d)
	biased := int((u & dpExponentMask) >> dpSignificandSize)
	sig := u & dpSignificandMask
	if biased != 0 {
		return diyFp{sig + dpHiddenBit, biased - dpExponentBias}
	}
	return diyFp{sig, dpMinExponent + 1}
}

func (x diyFp) sub(y diyFp) diyFp { return diyFp{x.f - y.f, x.e} }

// mul is the 128-bit product's high half, rounded on bit 63 of the low half.
func (x diyFp) mul(y diyFp) diyFp {
	h, l := bits.Mul64(x.f, y.f)
	if l&(1<<63) != 0 {
		h++
	}
	return diyFp{h, x.e + y.e + 64}
}

func (x diyFp) normalize() diyFp {
	s := bits.LeadingZeros64(x.f)
	return diyFp{x.f << s, x.e - s}
}

func (x diyFp) normalizeBoundary() diyFp {
	for x.f&(dpHiddenBit<<1) == 0 {
		x.f <<= 1
		x.e--
	}
	x.f <<= diySignificandSz - dpSignificandSize - 2
	x.e -= diySignificandSz - dpSignificandSize - 2
	return x
}

func (x diyFp) normalizedBoundaries() (minus, plus diyFp) {
	pl := diyFp{(x.f << 1) + 1, x.e - 1}.normalizeBoundary()
	var mi diyFp
	if x.f == dpHiddenBit {
		mi = diyFp{(x.f << 2) - 1, x.e - 2}
	} else {
		mi = diyFp{(x.f << 1) - 1, x.e - 1}
	}
	mi.f <<= uint(mi.e - pl.e)
	mi.e = pl.e
	return mi, pl
}

// cachedPowersF/E are 10^-348, 10^-340, ..., 10^340 (rapidjson's table).
var cachedPowersF = [87]uint64{
	0xfa8fd5a0081c0288, 0xbaaee17fa23ebf76, 0x8b16fb203055ac76, 0xcf42894a5dce35ea,
	0x9a6bb0aa55653b2d, 0xe61acf033d1a45df, 0xab70fe17c79ac6ca, 0xff77b1fcbebcdc4f,
	0xbe5691ef416bd60c, 0x8dd01fad907ffc3c, 0xd3515c2831559a83, 0x9d71ac8fada6c9b5,
	0xea9c227723ee8bcb, 0xaecc49914078536d, 0x823c12795db6ce57, 0xc21094364dfb5637,
	0x9096ea6f3848984f, 0xd77485cb25823ac7, 0xa086cfcd97bf97f4, 0xef340a98172aace5,
	0xb23867fb2a35b28e, 0x84c8d4dfd2c63f3b, 0xc5dd44271ad3cdba, 0x936b9fcebb25c996,
	0xdbac6c247d62a584, 0xa3ab66580d5fdaf6, 0xf3e2f893dec3f126, 0xb5b5ada8aaff80b8,
	0x87625f056c7c4a8b, 0xc9bcff6034c13053, 0x964e858c91ba2655, 0xdff9772470297ebd,
	0xa6dfbd9fb8e5b88f, 0xf8a95fcf88747d94, 0xb94470938fa89bcf, 0x8a08f0f8bf0f156b,
	0xcdb02555653131b6, 0x993fe2c6d07b7fac, 0xe45c10c42a2b3b06, 0xaa242499697392d3,
	0xfd87b5f28300ca0e, 0xbce5086492111aeb, 0x8cbccc096f5088cc, 0xd1b71758e219652c,
	0x9c40000000000000, 0xe8d4a51000000000, 0xad78ebc5ac620000, 0x813f3978f8940984,
	0xc097ce7bc90715b3, 0x8f7e32ce7bea5c70, 0xd5d238a4abe98068, 0x9f4f2726179a2245,
	0xed63a231d4c4fb27, 0xb0de65388cc8ada8, 0x83c7088e1aab65db, 0xc45d1df942711d9a,
	0x924d692ca61be758, 0xda01ee641a708dea, 0xa26da3999aef774a, 0xf209787bb47d6b85,
	0xb454e4a179dd1877, 0x865b86925b9bc5c2, 0xc83553c5c8965d3d, 0x952ab45cfa97a0b3,
	0xde469fbd99a05fe3, 0xa59bc234db398c25, 0xf6c69a72a3989f5c, 0xb7dcbf5354e9bece,
	0x88fcf317f22241e2, 0xcc20ce9bd35c78a5, 0x98165af37b2153df, 0xe2a0b5dc971f303a,
	0xa8d9d1535ce3b396, 0xfb9b7cd9a4a7443c, 0xbb764c4ca7a44410, 0x8bab8eefb6409c1a,
	0xd01fef10a657842c, 0x9b10a4e5e9913129, 0xe7109bfba19c0c9d, 0xac2820d9623bf429,
	0x80444b5e7aa7cf85, 0xbf21e44003acdd2d, 0x8e679c2f5e44ff8f, 0xd433179d9c8cb841,
	0x9e19db92b4e31ba9, 0xeb96bf6ebadf77d9, 0xaf87023b9bf0ee6b,
}

var cachedPowersE = [87]int16{
	-1220, -1193, -1166, -1140, -1113, -1087, -1060, -1034, -1007, -980,
	-954, -927, -901, -874, -847, -821, -794, -768, -741, -715,
	-688, -661, -635, -608, -582, -555, -529, -502, -475, -449,
	-422, -396, -369, -343, -316, -289, -263, -236, -210, -183,
	-157, -130, -103, -77, -50, -24, 3, 30, 56, 83,
	109, 136, 162, 189, 216, 242, 269, 295, 322, 348,
	375, 402, 428, 455, 481, 508, 534, 561, 588, 614,
	641, 667, 694, 720, 747, 774, 800, 827, 853, 880,
	907, 933, 960, 986, 1013, 1039, 1066,
}

// cachedPower is GetCachedPower: the cached power c = 10^-K with
// binary exponent in the range Grisu2 needs for w's exponent e.
func cachedPower(e int) (diyFp, int) {
	// The explicit conversion keeps the multiply and add separate
	// roundings (no fused multiply-add), as in the C++ on x86-64.
	dk := float64(float64(-61-e)*0.30102999566398114) + 347
	k := int(dk)
	if dk-float64(k) > 0.0 {
		k++
	}
	index := uint((k >> 3) + 1)
	K := -(-348 + int(index<<3))
	return diyFp{cachedPowersF[index], int(cachedPowersE[index])}, K
}

var pow10u64 = [20]uint64{
	1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000,
	1000000000, 10000000000, 100000000000, 1000000000000,
	10000000000000, 100000000000000, 1000000000000000,
	10000000000000000, 100000000000000000, 1000000000000000000,
	10000000000000000000,
}

func grisuRound(buf []byte, delta, rest, tenKappa, wpw uint64) {
	for rest < wpw && delta-rest >= tenKappa &&
		(rest+tenKappa < wpw || wpw-rest > rest+tenKappa-wpw) {
		buf[len(buf)-1]--
		rest += tenKappa
	}
}

func countDecimalDigit32(n uint32) int {
	switch {
	case n < 10:
		return 1
	case n < 100:
		return 2
	case n < 1000:
		return 3
	case n < 10000:
		return 4
	case n < 100000:
		return 5
	case n < 1000000:
		return 6
	case n < 10000000:
		return 7
	case n < 100000000:
		return 8
	}
	return 9 // DigitGen never sees 10 digits
}

// digitGen appends the digits of W (within delta of Mp) to buf and returns
// them with the adjusted decimal exponent.
func digitGen(W, Mp diyFp, delta uint64, buf []byte, K int) ([]byte, int) {
	one := diyFp{uint64(1) << uint(-Mp.e), Mp.e}
	wpw := Mp.sub(W)
	p1 := uint32(Mp.f >> uint(-one.e))
	p2 := Mp.f & (one.f - 1)
	kappa := countDecimalDigit32(p1)
	start := len(buf)
	for kappa > 0 {
		var d uint32
		switch kappa {
		case 9:
			d, p1 = p1/100000000, p1%100000000
		case 8:
			d, p1 = p1/10000000, p1%10000000
		case 7:
			d, p1 = p1/1000000, p1%1000000
		case 6:
			d, p1 = p1/100000, p1%100000
		case 5:
			d, p1 = p1/10000, p1%10000
		case 4:
			d, p1 = p1/1000, p1%1000
		case 3:
			d, p1 = p1/100, p1%100
		case 2:
			d, p1 = p1/10, p1%10
		case 1:
			d, p1 = p1, 0
		}
		if d != 0 || len(buf) > start {
			buf = append(buf, '0'+byte(d))
		}
		kappa--
		tmp := uint64(p1)<<uint(-one.e) + p2
		if tmp <= delta {
			K += kappa
			grisuRound(buf[start:], delta, tmp, pow10u64[kappa]<<uint(-one.e), wpw.f)
			return buf, K
		}
	}
	for { // kappa <= 0
		p2 *= 10
		delta *= 10
		d := byte(p2 >> uint(-one.e))
		if d != 0 || len(buf) > start {
			buf = append(buf, '0'+d)
		}
		p2 &= one.f - 1
		kappa--
		if p2 < delta {
			K += kappa
			index := -kappa
			var scale uint64
			if index < 20 {
				scale = pow10u64[index]
			}
			grisuRound(buf[start:], delta, p2, one.f, wpw.f*scale)
			return buf, K
		}
	}
}

// grisu2 appends the digits of v > 0 and returns the decimal exponent K:
// v ≈ digits × 10^K.
func grisu2(v float64, buf []byte) ([]byte, int) {
	d := diyFromDouble(v)
	wm, wp := d.normalizedBoundaries()
	cmk, K := cachedPower(wp.e)
	W := d.normalize().mul(cmk)
	Wp := wp.mul(cmk)
	Wm := wm.mul(cmk)
	Wm.f++
	Wp.f--
	return digitGen(W, Wp, Wp.f-Wm.f, buf, K)
}

// maxDecimalPlaces is rapidjson Writer's default (kDefaultMaxDecimalPlaces).
const maxDecimalPlaces = 324

// prettify lays out digits (buf[start:]) × 10^k the way rapidjson does.
func prettify(buf []byte, start, k int) []byte {
	digits := buf[start:]
	length := len(digits)
	kk := length + k // 10^(kk-1) <= v < 10^kk
	switch {
	case 0 <= k && kk <= 21:
		// 1234e7 -> 12340000000.0
		for i := length; i < kk; i++ {
			buf = append(buf, '0')
		}
		return append(buf, '.', '0')
	case 0 < kk && kk <= 21:
		// 1234e-2 -> 12.34
		buf = append(buf, 0)
		d := buf[start:]
		copy(d[kk+1:], d[kk:length])
		d[kk] = '.'
		if 0 > k+maxDecimalPlaces {
			// Truncation to maxDecimalPlaces: unreachable with 324 places.
			for i := kk + maxDecimalPlaces; i > kk+1; i-- {
				if d[i] != '0' {
					return buf[:start+i+1]
				}
			}
			return buf[:start+kk+2]
		}
		return buf
	case -6 < kk && kk <= 0:
		// 1234e-6 -> 0.001234
		offset := 2 - kk
		for i := 0; i < offset; i++ {
			buf = append(buf, 0)
		}
		d := buf[start:]
		copy(d[offset:], d[:length])
		d[0], d[1] = '0', '.'
		for i := 2; i < offset; i++ {
			d[i] = '0'
		}
		if length-kk > maxDecimalPlaces {
			// Unreachable with 324 places (length <= 17).
			for i := maxDecimalPlaces + 1; i > 2; i-- {
				if d[i] != '0' {
					return buf[:start+i+1]
				}
			}
			return buf[:start+3]
		}
		return buf
	case kk < -maxDecimalPlaces:
		// Truncate to zero (unreachable: the smallest double is 5e-324).
		return append(buf[:start], '0', '.', '0')
	case length == 1:
		// 1e30
		buf = append(buf, 'e')
		return strconv.AppendInt(buf, int64(kk-1), 10)
	default:
		// 1234e30 -> 1.234e33
		buf = append(buf, 0)
		d := buf[start:]
		copy(d[2:], d[1:length])
		d[1] = '.'
		buf = append(buf, 'e')
		return strconv.AppendInt(buf, int64(kk-1), 10)
	}
}

// appendZeekDouble appends d as Zeek's JSON writer writes a double or a
// time: rapidjson's dtoa, and null for NaN and ±Inf (NullDoubleWriter).
func appendZeekDouble(buf []byte, d float64) []byte {
	if math.IsNaN(d) || math.IsInf(d, 0) {
		return append(buf, "null"...)
	}
	if d == 0 {
		if math.Signbit(d) {
			return append(buf, "-0.0"...)
		}
		return append(buf, "0.0"...)
	}
	if d < 0 {
		buf = append(buf, '-')
		d = -d
	}
	start := len(buf)
	buf, K := grisu2(d, buf)
	return prettify(buf, start, K)
}

// FormatDouble returns d as Zeek writes a double or time value in storage
// ("345.0", "1e21", "-0.0", "null" for NaN and infinities).
func FormatDouble(d float64) string {
	var b [32]byte
	return string(appendZeekDouble(b[:0], d))
}

// Interval text: IntervalVal::ValDescribe (src/Val.cc) with ODesc::Add
// (double) (src/Desc.cc) and util::double_to_str (src/util.cc), Zeek 8.2+.

var intervalUnits = [6]struct {
	secs float64
	word string
}{
	{24 * 60 * 60, "day"}, {60 * 60, "hr"}, {60, "min"}, {1, "sec"}, {1e-3, "msec"}, {1e-6, "usec"},
}

func approxEqual(a, b, tolerance float64) bool { return math.Abs(a-b) < math.Abs(tolerance) }

// appendDescDouble is ODesc::Add(double) in readable style: double_to_str
// with precision 6, then ".0" when the value is integral.
func appendDescDouble(buf []byte, d float64) []byte {
	start := len(buf)
	buf = appendDoubleToStr(buf, d, 6)
	if approxEqual(d, math.RoundToEven(d), 1e-9) && !math.IsInf(d, 0) && !math.IsNaN(d) {
		for _, c := range buf[start:] {
			if c == 'e' {
				return buf
			}
		}
		buf = append(buf, '.', '0')
	}
	return buf
}

// appendDoubleToStr is util::double_to_str(d, precision, no_exp=false).
// std::to_chars and strconv both give the correctly rounded (scientific:
// shortest) text of the exact binary value, in the same layout.
func appendDoubleToStr(buf []byte, d float64, precision int) []byte {
	// Only precision 6 (readable ODesc) is used.
	if math.IsNaN(d) {
		return append(buf, "nan"...)
	}
	if d < 0 {
		buf = append(buf, '-')
		d = -d
	} else if d == 0 {
		d = 0
	}
	if d > math.MaxInt32 {
		if math.IsInf(d, 0) {
			return append(buf, "inf"...)
		}
		return strconv.AppendFloat(buf, d, 'e', -1, 64)
	}
	if d < 1e-6 { // pow(10.0, -precision), precision 6
		return strconv.AppendFloat(buf, d, 'g', precision, 64)
	}
	start := len(buf)
	buf = strconv.AppendFloat(buf, d, 'f', precision, 64)
	last := len(buf) - 1
	for buf[last] == '0' {
		last--
	}
	if buf[last] != '.' {
		last++
	}
	if last < start {
		last = start
	}
	return buf[:last]
}

// appendZeekInterval appends the text Zeek describes an interval of secs
// seconds with ("0 secs", "1.0 hr 30.0 mins", "-1.0 sec -500.0 msecs").
func appendZeekInterval(buf []byte, secs float64) []byte {
	v := secs
	if v == 0 {
		return append(buf, "0 secs"...)
	}
	didOne := false
	for i, u := range intervalUnits {
		var toPrint float64
		if i == len(intervalUnits)-1 {
			toPrint = v / u.secs
			if approxEqual(toPrint, 0, 1e-6) {
				if !didOne {
					buf = append(buf, "0 secs"...)
				}
				break
			}
		} else {
			if !(v >= u.secs || v <= -u.secs) {
				continue
			}
			num := v / u.secs
			if num < 0 {
				num = math.Ceil(num)
			} else {
				num = math.Floor(num)
			}
			v -= float64(num * u.secs)
			toPrint = num
		}
		if didOne {
			buf = append(buf, ' ')
		}
		buf = appendDescDouble(buf, toPrint)
		buf = append(buf, ' ')
		buf = append(buf, u.word...)
		if !approxEqual(toPrint, 1, 1e-6) && !approxEqual(toPrint, -1, 1e-6) {
			buf = append(buf, 's')
		}
		didOne = true
	}
	return buf
}

// FormatInterval returns the text Zeek stores an interval of secs seconds
// as ("15.0 secs", "1.0 day 1.0 hr").
func FormatInterval(secs float64) string {
	return string(appendZeekInterval(nil, secs))
}
