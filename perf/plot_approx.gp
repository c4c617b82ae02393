# gnuplot script for perf/plot_approx.sh: top panel the function and both
# approximations, bottom panel their error (absolute, or relative for the
# reciprocal and rsqrt, which are plotted on a log x axis); for GeLU and SiLU
# a third panel shows the precise error alone (PUMA's is 10-600x larger).
zoom = (fname eq 'gelu' || fname eq 'silu')
set terminal pngcairo size 900,(zoom ? 950 : 700) font ",10"
set output outfile
logx = (fname eq 'reciprocal' || fname eq 'rsqrt')
set multiplot layout (zoom ? 3 : 2),1 title sprintf("%s: PUMA vs precise (fixed point, f = 18) against libm", fname)
if (logx) { set logscale x; set format x "10^{%L}" }
if (logx) { set logscale y; set format y "10^{%L}" }
set key top left
set grid
set ylabel fname
if (zoom) { set xrange [-8:8]; set yrange [-1:8] }
plot datafile using 1:2 with lines lw 3 lc rgb "#999999" title "exact (libm)", \
     datafile using 1:3 with lines lw 1 lc rgb "#d62728" title "puma", \
     datafile using 1:4 with lines lw 1 dt 2 lc rgb "#1f77b4" title "precise"
unset logscale y
set autoscale x
set autoscale y
set format y "%g"
set ylabel (logx ? "relative error" : "error")
plot datafile using 1:5 with lines lc rgb "#d62728" title "puma", \
     datafile using 1:6 with lines lc rgb "#1f77b4" title "precise"
if (zoom) { set ylabel "precise error"; \
    plot datafile using 1:6 with lines lc rgb "#1f77b4" title "precise (zoomed)" }
unset multiplot
