"""The image factory's small build VPC: builds run in a private subnet, out through one NAT.

Build instances need HTTPS out (package repositories, Systems Manager, Image Builder) and
nothing in. No default VPC exists (deny-default-vpc), so the factory brings its own.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws


@dataclass
class BuildNetworkArgs:
    cidr: str
    region: str
    flow_log_bucket_arn: pulumi.Input[str]  # VPC flow logs go to the factory's log bucket
    tags: dict[str, str] = field(default_factory=dict)


class BuildNetwork(pulumi.ComponentResource):
    def __init__(self, name: str, args: BuildNetworkArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("blueprint:image_factory_network:BuildNetwork", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        public_cidr, private_cidr = (str(n) for n in list(ipaddress.IPv4Network(args.cidr).subnets(prefixlen_diff=1))[:2])
        tags = args.tags
        self.vpc = aws.ec2.Vpc(f"{name}-vpc", cidr_block=args.cidr, region=args.region, enable_dns_support=True,
                               enable_dns_hostnames=True, tags={**tags, "Name": name}, opts=child)
        # The default security group is left with no rules: nothing uses it.
        aws.ec2.DefaultSecurityGroup(f"{name}-default-sg", vpc_id=self.vpc.id, region=args.region, ingress=[], egress=[],
                                     tags=tags, opts=child)
        aws.ec2.FlowLog(f"{name}-flow-log", vpc_id=self.vpc.id, region=args.region, traffic_type="ALL",
                        log_destination_type="s3", log_destination=pulumi.Output.concat(args.flow_log_bucket_arn, "/vpc-flow-logs/"),
                        max_aggregation_interval=600, tags=tags, opts=child)
        igw = aws.ec2.InternetGateway(f"{name}-igw", vpc_id=self.vpc.id, region=args.region, tags=tags, opts=child)
        public = aws.ec2.Subnet(f"{name}-public", vpc_id=self.vpc.id, cidr_block=public_cidr, region=args.region,
                                map_public_ip_on_launch=False, tags={**tags, "Name": f"{name}-public"}, opts=child)
        self.subnet = aws.ec2.Subnet(f"{name}-private", vpc_id=self.vpc.id, cidr_block=private_cidr, region=args.region,
                                     map_public_ip_on_launch=False, tags={**tags, "Name": f"{name}-private"}, opts=child)
        eip = aws.ec2.Eip(f"{name}-nat-ip", domain="vpc", region=args.region, tags=tags, opts=child)
        nat = aws.ec2.NatGateway(f"{name}-nat", allocation_id=eip.id, subnet_id=public.id, region=args.region, tags=tags,
                                 opts=pulumi.ResourceOptions(parent=self, depends_on=[igw]))
        public_rt = aws.ec2.RouteTable(f"{name}-public-rt", vpc_id=self.vpc.id, region=args.region, tags=tags,
                                       routes=[aws.ec2.RouteTableRouteArgs(cidr_block="0.0.0.0/0", gateway_id=igw.id)], opts=child)
        private_rt = aws.ec2.RouteTable(f"{name}-private-rt", vpc_id=self.vpc.id, region=args.region, tags=tags,
                                        routes=[aws.ec2.RouteTableRouteArgs(cidr_block="0.0.0.0/0", nat_gateway_id=nat.id)], opts=child)
        aws.ec2.RouteTableAssociation(f"{name}-public-assoc", subnet_id=public.id, route_table_id=public_rt.id, region=args.region, opts=child)
        aws.ec2.RouteTableAssociation(f"{name}-private-assoc", subnet_id=self.subnet.id, route_table_id=private_rt.id, region=args.region, opts=child)
        # Build instances: no ingress at all (Systems Manager reaches them outbound), HTTPS out.
        self.security_group = aws.ec2.SecurityGroup(
            f"{name}-build-sg",
            vpc_id=self.vpc.id,
            region=args.region,
            description="Image Builder build and test instances: HTTPS out only",
            ingress=[],
            egress=[aws.ec2.SecurityGroupEgressArgs(protocol="tcp", from_port=443, to_port=443, cidr_blocks=["0.0.0.0/0"],
                                                    description="package repositories, Systems Manager, Image Builder")],
            tags=tags,
            opts=child,
        )
        self.register_outputs({"vpc": self.vpc.id, "subnet": self.subnet.id, "security_group": self.security_group.id})
