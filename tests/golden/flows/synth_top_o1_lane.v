// synth_top: o1_lane behind clk/sdi/cap/sdo (plasticore.flows.wrapper; build product).
// 29 input bits shift in on sdi; cap loads the 52 output bits, which then shift out on sdo.
module synth_top (
    input  wire clk,
    input  wire sdi,
    input  wire cap,
    output wire sdo
);
    reg  [28:0] in_sr;
    reg  [51:0] out_sr;
    wire [51:0] out_bus;
    always @(posedge clk) begin
        in_sr <= {in_sr[27:0], sdi};
        if (cap)
            out_sr <= out_bus;
        else
            out_sr <= {1'b0, out_sr[51:1]};
    end
    assign sdo = out_sr[0];
    o1_lane dut (
        .clk(clk),
        .rst(in_sr[0:0]),
        .load_en(in_sr[1:1]),
        .load_weight(in_sr[17:2]),
        .step_en(in_sr[18:18]),
        .pre_spike(in_sr[19:19]),
        .post_spike(in_sr[20:20]),
        .reward(in_sr[28:21]),
        .weight(out_bus[15:0]),
        .pre_trace(out_bus[27:16]),
        .post_trace(out_bus[39:28]),
        .eligibility(out_bus[51:40])
    );
endmodule
