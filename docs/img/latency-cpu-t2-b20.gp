# docs/img/latency-cpu-t2-b20.gp: written by bench/latency_sweeps.sh; redraw from the repository root: gnuplot docs/img/latency-cpu-t2-b20.gp
set terminal pngcairo size 1000,720 font "sans,9"
set output 'docs/img/latency-cpu-t2-b20.png'
set datafile separator "\t"
set multiplot layout 2,1 title "OpenBLAS LSTM step, 2 threads, batch 20, steady state (2026-11-22)"
set key top left font ",8"
set grid
set logscale y
set ylabel "median us per call (log)"
set xrange [0:*]

plot 'bench/out/latency/cpu-t2-b20-s1.env' using 1:3:4 with filledcurves lc rgb '#dddddd' title 'sweep 1 p10..p90', 'bench/out/latency/cpu-t2-b20-s1.env' using 1:2 with lines lw 1.2 lc rgb '#1f77b4' title 'sweep 1 median', 'bench/out/latency/cpu-t2-b20-s1.marks' every ::1 using 1:(strcol(3) eq 'hysteresis' ? $2 : 1/0) with points pt 6 ps 1.3 lc rgb '#1f77b4' title 'sweep 1 hysteresis points', 'bench/out/latency/cpu-t2-b20-s1.marks' every ::1 using 1:(strcol(3) eq 'dominated' ? $2 : 1/0) with points pt 2 ps 0.8 lc rgb 'black' title 'sweep 1 dominated', 'bench/out/latency/cpu-t2-b20-s2.env' using 1:2 with lines lw 1.2 lc rgb '#ff7f0e' title 'sweep 2 median', 'bench/out/latency/cpu-t2-b20-s2.marks' every ::1 using 1:(strcol(3) eq 'hysteresis' ? $2 : 1/0) with points pt 7 ps 1.3 lc rgb '#ff7f0e' title 'sweep 2 hysteresis points', 'bench/out/latency/cpu-t2-b20-s2.marks' every ::1 using 1:(strcol(3) eq 'dominated' ? $2 : 1/0) with points pt 3 ps 0.8 lc rgb 'black' title 'sweep 2 dominated'
unset logscale y
set xlabel "hidden size d"
set ylabel "median / min over larger sizes"
set yrange [0.95:*]
plot 'bench/out/latency/cpu-t2-b20-s1.env' using 1:6 with lines lc rgb '#1f77b4' title 'sweep 1', 'bench/out/latency/cpu-t2-b20-s2.env' using 1:6 with lines lc rgb '#ff7f0e' title 'sweep 2'
unset multiplot
