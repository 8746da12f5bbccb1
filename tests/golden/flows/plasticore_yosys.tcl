# plasticore synthesis script (plasticore.flows.edam.yosys_script; build product)
yosys -import
source edalize_yosys_procs.tcl
verilog_defaults -push
verilog_defaults -add -defer
set_defines
set_incdirs
read_files
set_params
verilog_defaults -pop
hierarchy -top synth_top
setattr -mod -set keep_hierarchy 1 o1_lane
synth synth_top
yosys tee -q -o stat.json stat -json
setattr -mod -unset keep_hierarchy o1_lane
flatten
opt_clean
write_json $name.json
