# docs/img/latency-accel.gp: written by bench/latency_sweeps.sh; redraw from the repository root: gnuplot docs/img/latency-accel.gp
set terminal pngcairo size 1000,720 font "sans,9"
set output 'docs/img/latency-accel.png'
set datafile separator "\t"
set multiplot layout 1,1 title "accelerator model (data/accel-default.json): LSTM step, batch 1"
set key top left font ",8"
set grid
set logscale y
set ylabel "median us per call (log)"
set xrange [0:*]
set xlabel "hidden size d"
plot 'bench/out/latency/accel.env' using 1:3:4 with filledcurves lc rgb '#dddddd' title 'model p10..p90', 'bench/out/latency/accel.env' using 1:2 with lines lw 1.2 lc rgb '#1f77b4' title 'model median', 'bench/out/latency/accel.marks' every ::1 using 1:(strcol(3) eq 'hysteresis' ? $2 : 1/0) with points pt 6 ps 1.3 lc rgb '#1f77b4' title 'model hysteresis points', 'bench/out/latency/accel.marks' every ::1 using 1:(strcol(3) eq 'dominated' ? $2 : 1/0) with points pt 2 ps 0.8 lc rgb 'black' title 'model dominated'
unset multiplot
